"""Deadline rules from deadlines.yaml: matching by category kind, warnings, escalation steps,
and the loader's cross-check of the roles they notify."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ticketing.config.loader import ConfigInvalid, load_commune
from ticketing.config.schema import DayUnit, DeadlinesFile
from ticketing.domain.deadlines import compute_deadlines, select_rule

COMMUNES = Path(__file__).resolve().parents[2] / "config" / "communes"
DEMO = "champignac-en-cambrousse"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def demo():
    return load_commune(COMMUNES / DEMO)


def rules_file(*rules: dict, default: dict | None = None) -> DeadlinesFile:
    return DeadlinesFile.model_validate({
        "rules": list(rules),
        "default": default or {"name": "défaut", "answer": {"days": 30}},
    })


def test_a_rule_can_match_the_kind_of_the_category() -> None:
    rules = rules_file(
        {"name": "décisions", "kinds": ["decision"], "answer": {"days": 30}},
        {"name": "réclamations", "kinds": ["complaint", "information"], "answer": {"days": 15}},
    )

    assert select_rule(rules, "web", "subvention", "decision").name == "décisions"
    assert select_rule(rules, "letter", "plainte", "complaint").name == "réclamations"
    assert select_rule(rules, "web", "question", "information").name == "réclamations"
    assert select_rule(rules, "web", "chaussee", "request").name == "défaut"
    # No category, hence no kind: a rule with kinds does not apply.
    assert select_rule(rules, "web", None, None).name == "défaut"


def test_every_condition_of_a_rule_must_hold() -> None:
    rules = rules_file(
        {"name": "décisions par courrier", "channels": ["letter"], "kinds": ["decision"],
         "answer": {"days": 30}},
    )

    assert select_rule(rules, "letter", "x", "decision").name == "décisions par courrier"
    assert select_rule(rules, "web", "x", "decision").name == "défaut"
    assert select_rule(rules, "letter", "x", "request").name == "défaut"


def test_demo_decision_categories_get_the_decision_rule_whatever_the_channel(demo) -> None:
    received = datetime(2026, 3, 2, 10, tzinfo=PARIS)  # Monday
    for channel in ("web", "email", "letter", "counter"):
        due = compute_deadlines(demo.deadlines, demo.calendar, "Europe/Paris", channel,
                                "subvention-association", received, kind="decision")
        assert due.rule_name == "Demandes appelant une décision", channel
        # 2 March + 30 calendar days = Wednesday 1 April 2026, an open day.
        assert due.answer_due == date(2026, 4, 1), channel


def test_demo_rules_carry_a_warning_and_escalation_steps(demo) -> None:
    web = select_rule(demo.deadlines, "web", "chaussee", "request")

    assert web.warning_before is not None
    assert (web.warning_before.days, web.warning_before.unit) == (2, DayUnit.WORKING)
    assert [s.after.days for s in web.escalation] == [1, 5, 10]
    assert web.escalation[0].notify == ["assignee", "service_managers"]
    assert "role:cabinet" in web.escalation[1].notify


def test_rules_without_the_new_keys_stay_valid() -> None:
    rules = rules_file({"name": "courriels", "channels": ["email"], "answer": {"days": 7}})

    assert rules.rules[0].warning_before is None
    assert rules.rules[0].escalation == []
    assert rules.rules[0].kinds == []


@pytest.mark.parametrize("rule", [
    {"name": "x", "kinds": ["demande"], "answer": {"days": 1}},
    {"name": "x", "answer": {"days": 1},
     "escalation": [{"after": {"days": 1}, "notify": ["le_chef"]}]},
    {"name": "x", "answer": {"days": 1},
     "escalation": [{"after": {"days": 1}, "notify": []}]},
    {"name": "x", "answer": {"days": 1},
     "escalation": [{"after": {"days": 5}, "notify": ["assignee"]},
                    {"after": {"days": 2}, "notify": ["assignee"]}]},
    {"name": "x", "answer": {"days": 1}, "warning_before": {"days": 2, "unit": "hours"}},
])
def test_malformed_rules_are_refused(rule: dict) -> None:
    with pytest.raises(ValidationError):
        rules_file(rule)


def test_the_default_rule_may_not_filter_by_kind() -> None:
    with pytest.raises(ValidationError, match="default"):
        rules_file(default={"name": "défaut", "kinds": ["decision"], "answer": {"days": 30}})


def test_an_unknown_role_in_an_escalation_step_is_reported_at_its_line(tmp_path: Path) -> None:
    folder = tmp_path / DEMO
    shutil.copytree(COMMUNES / DEMO, folder)
    deadlines = folder / "deadlines.yaml"
    lines = deadlines.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if '"role:dgs"' in line)
    lines[index] = lines[index].replace('"role:dgs"', '"role:directeur"', 1)
    deadlines.write_text("".join(lines), encoding="utf-8")

    with pytest.raises(ConfigInvalid) as raised:
        load_commune(folder)

    [problem] = raised.value.problems
    assert problem.file == deadlines
    assert problem.line == index + 1
    assert "unknown role 'directeur'" in problem.message
    assert "cabinet" in problem.message  # the known roles are listed
