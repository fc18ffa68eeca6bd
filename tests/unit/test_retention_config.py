"""commune.yaml's retention_months (requests without a category) is checked like the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ticketing.config import ConfigInvalid, load_commune
from ticketing.settings import REPO_ROOT

DEMO = "champignac-en-cambrousse"


def _demo_with(tmp_path: Path, line: str) -> Path:
    folder = tmp_path / DEMO
    shutil.copytree(REPO_ROOT / "config" / "communes" / DEMO, folder)
    commune = folder / "commune.yaml"
    text = commune.read_text(encoding="utf-8")
    commune.write_text(text.replace("  retention_months: 36\n", line), encoding="utf-8")
    return folder


def test_the_demo_commune_keeps_requests_without_category_36_months() -> None:
    config = load_commune(REPO_ROOT / "config" / "communes" / DEMO)
    assert config.commune.retention_months == 36


def test_a_missing_setting_defaults_to_36_months(tmp_path: Path) -> None:
    assert load_commune(_demo_with(tmp_path, "")).commune.retention_months == 36


@pytest.mark.parametrize("value", ["0", "trois ans"])
def test_a_nonsensical_delay_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigInvalid) as refused:
        load_commune(_demo_with(tmp_path, f"  retention_months: {value}\n"))
    assert "retention_months" in str(refused.value.problems)
