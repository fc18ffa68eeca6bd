"""validation.yaml: which replies need a visa, who may give it, and file:line config errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ticketing.config.loader import ConfigInvalid, load_commune
from ticketing.config.schema import Role, ValidationCondition, ValidationRule
from ticketing.domain.rights import Grant
from ticketing.domain.validation import may_validate, rule_for_reply

COMMUNES = Path(__file__).resolve().parents[2] / "config" / "communes"
DEMO = "champignac-en-cambrousse"

ROLES = {
    "agent": Role(code="agent", label="Agent", permissions=["view", "reply"]),
    "chef": Role(code="chef", label="Chef", permissions=["view", "reply", "validate"]),
    "dgs": Role(code="dgs", label="DGS", permissions=["view", "validate"], scope="commune"),
}
RULES = [
    ValidationRule(name="courriers", when=ValidationCondition(channels=["letter"]), role="dgs"),
    ValidationRule(name="urbanisme", when=ValidationCondition(
        services=["urbanisme"], kinds=["decision"]), role="chef", allow_author=True),
]


def test_the_first_rule_whose_conditions_all_hold_wins() -> None:
    assert rule_for_reply(RULES, "voirie", "chaussee", "letter", "request").name == "courriers"
    assert rule_for_reply(RULES, "urbanisme", None, "letter", "decision").name == "courriers"
    assert rule_for_reply(RULES, "urbanisme", None, "web", "decision").name == "urbanisme"
    assert rule_for_reply(RULES, "urbanisme", None, "web", "information") is None
    assert rule_for_reply(RULES, "voirie", "chaussee", "web", "request") is None


def test_the_visa_needs_the_named_role_on_the_tickets_service() -> None:
    chef_voirie = [Grant("voirie", "chef")]
    assert may_validate(chef_voirie, ROLES, "chef", "voirie", False, is_author=False)
    assert not may_validate(chef_voirie, ROLES, "chef", "urbanisme", False, is_author=False)
    assert not may_validate(chef_voirie, ROLES, "dgs", "voirie", False, is_author=False)
    dgs = [Grant("cabinet", "dgs")]  # commune-wide: every service
    assert may_validate(dgs, ROLES, "dgs", "voirie", False, is_author=False)
    assert not may_validate([Grant("voirie", "agent")], ROLES, "agent", "voirie", False, False)


def test_the_author_validates_their_own_draft_only_when_the_rule_allows_it() -> None:
    chef = [Grant("voirie", "chef")]
    assert not may_validate(chef, ROLES, "chef", "voirie", allow_author=False, is_author=True)
    assert may_validate(chef, ROLES, "chef", "voirie", allow_author=True, is_author=True)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    folder = tmp_path / DEMO
    shutil.copytree(COMMUNES / DEMO, folder)
    return folder


def _problems(folder: Path, text: str) -> list[tuple[int, str]]:
    (folder / "validation.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as caught:
        load_commune(folder)
    assert all(p.file == folder / "validation.yaml" for p in caught.value.problems)
    return [(p.line, p.message) for p in caught.value.problems]


def test_the_demo_rules_load(demo: Path) -> None:
    rules = load_commune(demo).validation_rules
    assert [r.role for r in rules] == ["dgs", "chef_de_service"]


def test_a_commune_without_validation_yaml_sends_replies_directly(demo: Path) -> None:
    (demo / "validation.yaml").unlink()
    assert load_commune(demo).validation_rules == []


def test_a_role_without_validate_is_refused_on_its_line(demo: Path) -> None:
    [(line, message)] = _problems(demo, "rules:\n  - name: x\n    when: {channels: [letter]}\n"
                                        "    role: agent\n")
    assert line == 4 and "lacks the 'validate' permission" in message


def test_unknown_role_service_and_category_are_named(demo: Path) -> None:
    problems = _problems(demo, "rules:\n  - name: x\n    when:\n      services: [voiree]\n"
                               "      categories: [chausee]\n    role: maire\n")
    assert (4, "rules[0].when.services[0]: unknown service 'voiree'") in [
        (line, message.split(";")[0]) for line, message in problems]
    assert any(line == 5 and "unknown category 'chausee'" in m for line, m in problems)
    assert any(line == 6 and "unknown role 'maire'" in m for line, m in problems)


def test_a_rule_without_condition_or_with_a_typo_is_refused(demo: Path) -> None:
    [(line, message)] = _problems(demo, "rules:\n  - name: x\n    when: {}\n    role: dgs\n")
    assert line == 3 and "needs services, categories, channels or kinds" in message
    [(line, message)] = _problems(demo, "rules:\n  - name: x\n    when: {channels: [letter]}\n"
                                        "    role: dgs\n    allow_autor: true\n")
    assert line == 5 and "unknown key" in message
