"""Reply templates: every variable offered is documented, and any other is refused at load."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from ticketing.domain.templating import sample_context, template_error

COMMUNES = Path(__file__).resolve().parents[2] / "config" / "communes"
DOC_LINE = re.compile(r"^#\s+(\w+)\s*:\s*(.+)$")


def _documented(slug: str) -> dict[str, set[str]]:
    """The ``# name : attr, attr`` lines of the comment heading templates.yaml."""
    found: dict[str, set[str]] = {}
    for line in (COMMUNES / slug / "templates.yaml").read_text(encoding="utf-8").splitlines():
        match = DOC_LINE.match(line)
        if match and match.group(1) in sample_context():
            found[match.group(1)] = {a.strip() for a in match.group(2).split(",")}
    return found


def test_every_offered_variable_is_documented_in_templates_yaml() -> None:
    slug = "champignac-en-cambrousse"  # the reference the other communes' files point to
    documented = _documented(slug)
    for name, value in sample_context().items():
        assert name in documented, f"{slug}: variable {name} not documented"
        if isinstance(value, SimpleNamespace):
            assert documented[name] == set(vars(value)), f"{slug}: attributes of {name}"


@pytest.mark.parametrize("source", [
    "{% if citizen.phone == 'jamais' %}{{ citizen.nom }}{% endif %}",
    "{% if false %}{{ maire }}{% endif %}",
    "{{ agent.telephone if agent.title else '' }}",
])
def test_an_unknown_variable_in_a_branch_never_taken_is_still_refused(source: str) -> None:
    error = template_error(source)
    assert error is not None and "unknown variable" in error


def test_loops_and_sets_define_their_own_names() -> None:
    source = "{% set n = ticket.number %}{% for p in [1, 2] %}{{ p }} {{ n }}{% endfor %}"
    assert template_error(source) is None
