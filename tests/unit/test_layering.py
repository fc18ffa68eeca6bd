"""The dependency direction of the code: rules and use cases never import the web layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLASK_FREE = ["ticketing/domain", "ticketing/config", "ticketing/models", "ticketing/operations",
              "ticketing/reporting", "ticketing/documents", "ticketing/search",
              "ticketing/tenancy.py", "ticketing/db.py", "ticketing/mail_templates.py",
              "ticketing/settings.py", "mail_ingest"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _files(target: str) -> list[Path]:
    path = ROOT / target
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


@pytest.mark.parametrize("target", FLASK_FREE)
def test_rules_and_use_cases_do_not_import_flask_or_the_web_layer(target: str) -> None:
    offenders = {
        f"{file.relative_to(ROOT)} imports {name}"
        for file in _files(target)
        for name in _imports(file)
        if name.split(".")[0].startswith("flask") or name.startswith("ticketing.web")
    }
    assert not offenders, sorted(offenders)


def test_domain_rules_do_not_touch_the_database() -> None:
    offenders = {
        f"{file.relative_to(ROOT)} imports {name}"
        for file in _files("ticketing/domain")
        for name in _imports(file)
        if name.startswith(("sqlalchemy", "ticketing.models", "ticketing.operations"))
    }
    assert not offenders, sorted(offenders)
