# Aiguillage: the single entry points for developers and CI (GNU make).
#   make run            demo app on http://127.0.0.1:5000/ (with a local mail sink)
#   make test           ruff, then the test suite on SQLite
#   make test-postgres  the test suite on PostgreSQL
#   make bench          intake throughput and queue page latency

SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 5000
MAILSINK_PORT ?= 8025
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
BENCH_ARGS ?=
LINT_PATHS := ticketing mail_ingest tests bench

.PHONY: venv run mailsink test lint test-postgres bench clean distclean

venv: $(STAMP)

# Re-installed whenever pyproject.toml changes (new dependency, new entry point).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Starts a mail sink on $(MAILSINK_PORT) unless something already listens there
# (the default AIGUILLAGE_SMTP_PORT), and stops it when the server stops.
run: venv
	$(BIN)/aiguillage config check config
	$(BIN)/aiguillage db upgrade
	$(BIN)/aiguillage demo
	@sink=; \
	if ! $(BIN)/python -c 'import socket, sys; s = socket.socket(); \
	    sys.exit(s.connect_ex(("127.0.0.1", $(MAILSINK_PORT))) != 0)'; then \
	  $(BIN)/python -u -m aiosmtpd -n -l 127.0.0.1:$(MAILSINK_PORT) & sink=$$!; \
	  trap 'kill $$sink 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	  echo "Mail sink on 127.0.0.1:$(MAILSINK_PORT): outgoing mail is printed below."; \
	else \
	  echo "Port $(MAILSINK_PORT) is in use: outgoing mail goes to whatever listens there."; \
	fi; \
	AIGUILLAGE_SMTP_PORT=$${AIGUILLAGE_SMTP_PORT:-$(MAILSINK_PORT)} \
	  $(BIN)/aiguillage serve --host $(HOST) --port $(PORT)

# A debugging SMTP server that prints every message it receives.
mailsink: venv
	$(BIN)/python -u -m aiosmtpd -n -l 127.0.0.1:$(MAILSINK_PORT)

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)

test: venv lint
	AIGUILLAGE_TEST_DATABASE_URL= $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: venv
	AIGUILLAGE_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

bench: venv
	$(BIN)/python bench/bench_intake_queue.py $(BENCH_ARGS)

# Caches and build leftovers; keeps the virtualenv and data/ (demo database, secret key).
clean:
	rm -rf .pytest_cache .ruff_cache .hypothesis build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Everything make created, including the virtualenv and the demo data.
distclean: clean
	rm -rf $(VENV) data
