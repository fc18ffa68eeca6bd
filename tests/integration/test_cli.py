"""The ``aiguillage`` command, run as a separate process the way an administrator runs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import csrf_token, login
from ticketing.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from ticketing.settings import REPO_ROOT

DEMO = "champignac-en-cambrousse"
OTHER = "trifouillis-les-oies"
TYPO_KEY = "emial"


def aiguillage(*args: str, env: dict[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "ticketing.cli", *args], cwd=REPO_ROOT, env=full_env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture
def broken_config(tmp_path: Path) -> tuple[Path, Path, int]:
    """A config folder whose demo commune has a misspelt key; returns (dir, file, line)."""
    communes = tmp_path / "config" / "communes"
    shutil.copytree(REPO_ROOT / "config" / "communes" / DEMO, communes / DEMO)
    services = communes / DEMO / "services.yaml"
    lines = services.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("    email: "))
    lines[index] = lines[index].replace("email:", f"{TYPO_KEY}:", 1)
    services.write_text("".join(lines), encoding="utf-8")
    return tmp_path / "config", services, index + 1


def test_config_check_accepts_the_shipped_communes() -> None:
    result = aiguillage("config", "check", "config")

    assert result.returncode == 0, result.stderr
    assert re.search(rf"^{DEMO}: OK", result.stdout, re.M)
    assert re.search(rf"^{OTHER}: OK", result.stdout, re.M)


def test_config_check_accepts_one_commune_folder() -> None:
    result = aiguillage("config", "check", f"config/communes/{OTHER}")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{OTHER}: OK")


def test_config_check_points_at_the_misspelt_key(broken_config) -> None:  # type: ignore[no-untyped-def]
    folder, services, line = broken_config

    result = aiguillage("config", "check", str(folder))

    assert result.returncode != 0
    assert f"{services}:{line}: " in result.stderr
    assert re.search(rf"{re.escape(str(services))}:{line}: .*{TYPO_KEY}", result.stderr)
    assert "problem(s) found" in result.stderr


def test_serve_refuses_an_invalid_config(broken_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, services, line = broken_config
    env = {
        "AIGUILLAGE_CONFIG_DIR": str(folder),
        "AIGUILLAGE_DATA_DIR": str(tmp_path / "data"),
        "AIGUILLAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
    }

    result = aiguillage("serve", "--port", "1", "--no-scheduler", env=env, timeout=20)

    assert result.returncode == 2
    assert "will not start" in result.stderr
    assert f"{services}:{line}: " in result.stderr
    assert "listening" not in result.stdout


def test_upgrade_then_demo_then_drain_on_a_new_database(tmp_path: Path) -> None:
    """What ``make run`` does before serving, on an empty data folder."""
    env = {
        "AIGUILLAGE_DATA_DIR": str(tmp_path / "data"),
        "AIGUILLAGE_SMTP_PORT": "1",  # nothing listens; nothing is due anyway
    }

    upgraded = aiguillage("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "data" / "aiguillage.sqlite3").exists()

    demo = aiguillage("demo", env=env)
    assert demo.returncode == 0, demo.stderr
    assert DEMO_PASSWORD in demo.stdout
    for account in DEMO_ACCOUNTS:
        assert account.email in demo.stdout
    assert aiguillage("demo", env=env).returncode == 0  # a second run creates nothing twice

    drained = aiguillage("outbox", "drain", env=env)
    assert drained.returncode == 0, drained.stderr
    assert "sent 0, to retry 0, given up 0" in drained.stdout


def test_serve_without_a_schema_says_to_upgrade(tmp_path: Path) -> None:
    env = {"AIGUILLAGE_DATA_DIR": str(tmp_path / "data")}

    result = aiguillage("serve", "--port", "1", "--no-scheduler", env=env, timeout=20)

    assert result.returncode != 0
    assert "aiguillage db upgrade" in result.stderr


FIRST_ADMIN = "premiere.admin@champignac.example"
LINK = re.compile(r"^  (http://\S+/agent/mot-de-passe/\S+)$", re.M)


def test_agent_invite_gives_the_first_administrator_a_working_link(  # type: ignore[no-untyped-def]
        tmp_path: Path, smtp_server, settings, configs) -> None:
    """A real install has no account: the command creates the administrator, mails the
    link and prints it; the link sets a password that opens the admin pages."""
    from ticketing.web import create_app
    from ticketing.web.extensions import db

    env = {"AIGUILLAGE_DATA_DIR": str(tmp_path / "data"),
           "AIGUILLAGE_SMTP_PORT": str(smtp_server.port)}
    assert aiguillage("db", "upgrade", env=env).returncode == 0

    invited = aiguillage("agent", "invite", DEMO, FIRST_ADMIN.upper(), "--name", "Adèle Premier",
                         "--role", "administrateur", "--service", "cabinet", env=env)
    assert invited.returncode == 0, invited.stderr
    assert f"agent created: {FIRST_ADMIN} (Adèle Premier)" in invited.stdout
    assert "role granted: administrateur in service cabinet" in invited.stdout
    match = LINK.search(invited.stdout)
    assert match, invited.stdout
    link = match.group(1)

    assert aiguillage("outbox", "drain", env=env).returncode == 0
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == [FIRST_ADMIN] and link in mail.body

    database_url = f"sqlite:///{tmp_path / 'data' / 'aiguillage.sqlite3'}"
    app = create_app(replace(settings, database_url=database_url, data_dir=tmp_path / "data"),
                     configs, overrides={"TESTING": True})
    try:
        client = app.test_client()
        path = urlsplit(link).path
        password = "Un cormoran patient traverse la Moselle"
        chosen = client.post(path, data={"password": password, "confirm": password,
                                         "csrf_token": csrf_token(client, path)})
        assert chosen.status_code == 303
        assert login(client, FIRST_ADMIN, password=password).status_code == 303
        assert client.get(f"/{DEMO}/agent/admin/agents").status_code == 200
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_agent_invite_again_grants_nothing_twice_and_replaces_the_link(tmp_path: Path) -> None:
    env = {"AIGUILLAGE_DATA_DIR": str(tmp_path / "data")}
    assert aiguillage("db", "upgrade", env=env).returncode == 0
    args = ("agent", "invite", DEMO, FIRST_ADMIN, "--name", "Adèle Premier",
            "--role", "administrateur")
    first = aiguillage(*args, env=env)
    again = aiguillage(*args, env=env)

    assert again.returncode == 0, again.stderr
    assert "agent found" in again.stdout and "role already held" in again.stdout
    links = [LINK.search(run.stdout).group(1) for run in (first, again)]  # type: ignore[union-attr]
    assert links[0] != links[1]


@pytest.mark.parametrize("extra, expected", [
    (("--role", "admin"), ("unknown role 'admin'", "administrateur")),
    (("--role", "administrateur", "--service", "nulle-part"),
     ("unknown service 'nulle-part'", "cabinet")),
    (("--name", ""), ("Indiquez le nom de l'agent",)),
])
def test_agent_invite_refuses_what_it_cannot_do_and_creates_nothing(
        tmp_path: Path, extra: tuple[str, ...], expected: tuple[str, ...]) -> None:
    env = {"AIGUILLAGE_DATA_DIR": str(tmp_path / "data")}
    assert aiguillage("db", "upgrade", env=env).returncode == 0
    name = () if "--name" in extra else ("--name", "Adèle Premier")
    refused = aiguillage("agent", "invite", DEMO, FIRST_ADMIN, *name, *extra, env=env)
    assert refused.returncode == 2
    for text in expected:
        assert text in refused.stderr
    retried = aiguillage("agent", "invite", DEMO, FIRST_ADMIN, "--name", "Adèle Premier", env=env)
    assert "agent created" in retried.stdout
