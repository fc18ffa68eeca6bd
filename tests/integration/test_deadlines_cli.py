"""``aiguillage deadlines …`` and ``aiguillage jobs run-once``, run as an administrator would.

Expected dates are worked out by hand from config/communes/*/deadlines.yaml in each test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.integration.test_cli import aiguillage
from ticketing.settings import REPO_ROOT

DEMO = "champignac-en-cambrousse"
MOSELLE = "trifouillis-les-oies"


def due(*args: str) -> tuple[str, str]:
    result = aiguillage("deadlines", "due", *args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert lines[0].startswith("acknowledgement_due: ") and lines[1].startswith("answer_due: ")
    return lines[0].split(": ")[1], lines[1].split(": ")[1]


def test_friday_evening_web_request_before_christmas() -> None:
    # Friday 18 Dec 2026, 17:00 in Paris. Acknowledgement: 1 working day → Monday 21.
    # Answer (web, Marianne): 7 calendar days → Friday 25 Dec, Christmas, rolled past the
    # weekend to Monday 28 Dec.
    assert due("--commune", DEMO, "--channel", "web",
               "--received", "2026-12-18T17:00") == ("2026-12-21", "2026-12-28")


def test_an_offset_is_honoured_and_a_late_utc_hour_is_the_next_day_in_paris() -> None:
    # 23:30 UTC on Friday 18 Dec is 00:30 on Saturday 19 in Paris: acknowledgement Monday 21,
    # answer 19 + 7 = Saturday 26 → Monday 28.
    assert due("--commune", DEMO, "--channel", "email",
               "--received", "2026-12-18T23:30:00+00:00") == ("2026-12-21", "2026-12-28")


def test_the_moselle_commune_does_not_work_on_26_december() -> None:
    # Wednesday 24 Dec 2025; 25 Dec is a holiday everywhere, Friday 26 only in Moselle.
    # Demo: acknowledgement Friday 26; answer 24 + 7 = Wednesday 31 Dec.
    assert due("--commune", DEMO, "--channel", "web",
               "--received", "2025-12-24T10:00") == ("2025-12-26", "2025-12-31")
    # Trifouillis (Moselle): acknowledgement Monday 29; answer 5 working days:
    # 29, 30, 31 Dec, 2 Jan (1 Jan is a holiday), 5 Jan.
    assert due("--commune", MOSELLE, "--channel", "web",
               "--received", "2025-12-24T10:00") == ("2025-12-29", "2026-01-05")


def test_letter_counts_from_its_sending_date_and_category_kind_picks_a_rule() -> None:
    # Sent Friday 30 Oct 2026 + 3 days of transit = 2 Nov, + 14 days = Monday 16 Nov;
    # received Wednesday 4 Nov: acknowledgement 2 working days → Friday 6 Nov.
    assert due("--commune", DEMO, "--channel", "letter", "--received", "2026-11-04T12:00",
               "--sent", "2026-10-30") == ("2026-11-06", "2026-11-16")
    # A subsidy request is a decision (kinds: [decision]): 30 calendar days, whatever the
    # channel. Monday 2 March 2026 + 30 = Wednesday 1 April.
    assert due("--commune", DEMO, "--channel", "counter", "--category", "subvention-association",
               "--received", "2026-03-02T09:00") == ("2026-03-03", "2026-04-01")


@pytest.mark.parametrize(("args", "message"), [
    (["--commune", "nulle-part", "--channel", "web"], "unknown commune 'nulle-part'"),
    (["--commune", DEMO, "--channel", "pigeon"], "unknown channel 'pigeon'"),
    (["--commune", DEMO, "--channel", "web", "--category", "licorne"],
     "unknown category 'licorne'"),
])
def test_unknown_names_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = aiguillage("deadlines", "due", *args, "--received", "2026-12-18T17:00")

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_a_malformed_date_exits_2() -> None:
    result = aiguillage("deadlines", "due", "--commune", DEMO, "--channel", "web",
                        "--received", "18/12/2026")

    assert result.returncode == 2
    assert "ISO 8601" in result.stderr


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"AIGUILLAGE_DATABASE_URL": database_url,
            "AIGUILLAGE_CONFIG_DIR": str(REPO_ROOT / "config"),
            "AIGUILLAGE_DATA_DIR": str(tmp_path / "data"),
            "AIGUILLAGE_SECRET_KEY": "cli-test", "AIGUILLAGE_SMTP_PORT": "1"}


def test_recompute_changes_dates_only_after_the_rules_change(
        app, file_request, cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from ticketing.models import AuditEvent, Ticket
    from ticketing.web.extensions import db

    number, _ = file_request(received_at=datetime(2026, 6, 1, 10, tzinfo=ZoneInfo("Europe/Paris")))
    same = aiguillage("deadlines", "recompute", "--commune", DEMO, "--ticket", number,
                      env=cli_env)
    assert same.returncode == 0, same.stderr
    assert "0 ticket(s) changed" in same.stdout

    # The administrator gives web requests 10 days instead of 7.
    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config", config)
    rules = config / "communes" / DEMO / "deadlines.yaml"
    text = rules.read_text(encoding="utf-8")
    marker = "    channels: [web, email]\n    answer: {days: 7, unit: calendar}"
    assert marker in text
    rules.write_text(text.replace(marker, marker.replace("days: 7", "days: 10")),
                     encoding="utf-8")
    changed = aiguillage("deadlines", "recompute", "--commune", DEMO,
                         env={**cli_env, "AIGUILLAGE_CONFIG_DIR": str(config)})

    assert changed.returncode == 0, changed.stderr
    # 1 June + 10 = Thursday 11 June 2026.
    assert f"{number}: answer_due 2026-06-11" in changed.stdout
    assert "1 ticket(s) changed" in changed.stdout
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.answer_due_on.isoformat() == "2026-06-11"
        actions = db.session.scalars(select(AuditEvent.action)
                                     .where(AuditEvent.ticket_id == ticket.id)).all()
        assert actions.count("deadline.recomputed") == 1


def test_recompute_refuses_an_unknown_ticket(app, cli_env) -> None:  # type: ignore[no-untyped-def]
    result = aiguillage("deadlines", "recompute", "--commune", DEMO, "--ticket", "2099-999999",
                        env=cli_env)

    assert result.returncode == 2
    assert "no ticket '2099-999999'" in result.stderr


def test_jobs_run_once_twice(app, file_request, cli_env) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    file_request(received_at=datetime(2026, 1, 5, 10, tzinfo=ZoneInfo("Europe/Paris")))

    first = aiguillage("jobs", "run-once", env=cli_env)
    second = aiguillage("jobs", "run-once", env=cli_env)

    assert first.returncode == 0, first.stderr
    assert "deadlines: JobReport(" in first.stdout and "escalations=0" not in first.stdout
    assert second.returncode == 0, second.stderr
    assert "escalations=0" in second.stdout and "digests=0" in second.stdout
