"""``aiguillage retention run``, run as an administrator (or cron) runs it."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_cli import DEMO, OTHER, aiguillage


def test_retention_run_prints_what_it_would_do_and_what_it_did(tmp_path: Path) -> None:
    env = {"AIGUILLAGE_DATA_DIR": str(tmp_path / "data")}
    assert aiguillage("db", "upgrade", env=env).returncode == 0

    dry = aiguillage("retention", "run", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"{DEMO}: would anonymise 0 request(s)" in dry.stdout
    assert f"{OTHER}: would anonymise 0 request(s)" in dry.stdout

    one = aiguillage("retention", "run", "--commune", DEMO, env=env)
    assert one.returncode == 0, one.stderr
    assert f"{DEMO}: anonymised 0 request(s)" in one.stdout and OTHER not in one.stdout

    unknown = aiguillage("retention", "run", "--commune", "nulle-part", env=env)
    assert unknown.returncode == 2 and "unknown commune" in unknown.stderr
