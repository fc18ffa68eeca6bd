"""The shipped communes load, and a broken configuration is refused with file:line problems."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ticketing.config.loader import ConfigInvalid, ConfigProblem, load_all, load_commune
from ticketing.config.schema import PERMISSIONS
from ticketing.domain.templating import render_text, sample_context

REPO = Path(__file__).resolve().parents[2]
COMMUNES = REPO / "config" / "communes"
DEMO = "champignac-en-cambrousse"
SMALL = "trifouillis-les-oies"


# --- the shipped communes -------------------------------------------------------


@pytest.mark.parametrize("slug", [DEMO, SMALL])
def test_shipped_commune_loads(slug: str) -> None:
    config = load_commune(COMMUNES / slug)

    assert config.slug == slug
    assert config.commune.triage_service in config.services
    assert config.categories and config.templates and config.roles


def test_load_all_finds_both_communes_in_one_deployment() -> None:
    communes = load_all(REPO / "config")

    assert {DEMO, SMALL} <= set(communes)
    assert communes[DEMO].calendar.subdivision is None  # metropolitan holidays
    assert communes[SMALL].calendar.subdivision == "57"  # Alsace-Moselle local law


def test_demo_commune_has_the_services_and_roles_the_demo_relies_on() -> None:
    config = load_commune(COMMUNES / DEMO)

    assert config.commune.triage_service == "courrier"
    assert config.services["courrier"].name == "Courrier & accueil"
    assert "chef.voirie@champignac.example" in config.services["voirie"].managers
    assert {
        "agent",
        "chef_de_service",
        "courrier",
        "cabinet",
        "elu",
        "dgs",
        "administrateur",
    } <= set(config.roles)
    assert set(config.roles["cabinet"].permissions) == set(PERMISSIONS) - {"manage_users"}
    assert config.roles["elu"].permissions == ["view"]
    assert config.roles["elu"].scope == "commune"
    assert config.categories["autre"].default_service is None


@pytest.mark.parametrize("slug", [DEMO, SMALL])
def test_every_reply_is_signed_by_the_agent_with_title_and_service(slug: str) -> None:
    """CRPA L111-2: the citizen knows the name, title and address of the agent."""
    config = load_commune(COMMUNES / slug)
    context = sample_context()
    agent, service = context["agent"], context["service"]

    for template in config.templates.values():
        body = render_text(template.body, context).rstrip()
        signature = "\n".join(body.splitlines()[-4:])
        assert agent.full_name in signature, template.code
        assert f"{agent.title}, {service.name}" in signature, template.code
        assert service.address in signature, template.code


@pytest.mark.parametrize("slug", [DEMO, SMALL])
def test_implicit_rejection_categories_tell_the_ways_and_delays_of_appeal(slug: str) -> None:
    """CRPA R112-5: the acknowledgement of a request silence rejects gives the appeal ways."""
    config = load_commune(COMMUNES / slug)
    rejections = [
        c
        for c in config.categories.values()
        if c.silence is not None and c.silence.outcome == "rejection"
    ]

    assert rejections
    for category in rejections:
        notice = category.silence.appeal_notice
        assert "tribunal administratif" in notice, category.code
        assert "recours gracieux" in notice, category.code
        assert "R421-7" in notice, category.code  # +1 month overseas, +2 abroad


# --- broken copies of the demo commune ------------------------------------------


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A writable copy of the demo commune, in a folder named after its slug."""
    folder = tmp_path / DEMO
    shutil.copytree(COMMUNES / DEMO, folder)
    return folder


def edit(file: Path, old: str, new: str) -> int:
    """Replace the first ``old`` by ``new`` in ``file``; return the line where ``new`` starts."""
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not found in {file.name}"
    start = text.index(old)
    file.write_text(text[:start] + new + text[start + len(old) :], encoding="utf-8")
    return text.count("\n", 0, start) + 1


def line_of(file: Path, needle: str, before: int | None = None) -> int:
    """Number of the first line containing ``needle`` (the last one before line ``before``)."""
    lines = file.read_text(encoding="utf-8").splitlines()
    found = [
        i + 1
        for i, line in enumerate(lines)
        if needle in line and (before is None or i + 1 < before)
    ]
    assert found, f"{needle!r} not in {file.name}"
    return found[-1] if before is not None else found[0]


def problems_of(folder: Path) -> list[ConfigProblem]:
    with pytest.raises(ConfigInvalid) as caught:
        load_commune(folder)
    return caught.value.problems


def only_problem(folder: Path) -> ConfigProblem:
    problems = problems_of(folder)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_misspelt_key_is_reported_on_its_line(demo: Path) -> None:
    file = demo / "categories.yaml"
    line = edit(file, "    help: Dalle", "    hepl: Dalle")

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, line)
    assert "hepl" in problem.message
    assert "unknown key" in problem.message


def test_unknown_service_in_category_names_the_line_and_lists_known_services(
    demo: Path,
) -> None:
    file = demo / "categories.yaml"
    line = edit(file, "default_service: eclairage", "default_service: eclairrage")

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, line)
    assert "'eclairrage'" in problem.message
    assert "known services: cabinet, courrier, eclairage, ecoles," in problem.message


def test_unknown_category_in_routing_rule_is_reported_on_its_line(demo: Path) -> None:
    file = demo / "routing.yaml"
    line = edit(file, "categories: [reclamation]", "categories:\n        - reclamations")

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, line + 1)
    assert "'reclamations'" in problem.message
    assert "known categor" in problem.message
    assert "reclamation," in problem.message


def test_yaml_syntax_error_gives_the_line(demo: Path) -> None:
    file = demo / "services.yaml"
    # An unquoted " : " in French typography is a YAML syntax error.
    line = edit(file, "    name: Voirie\n", "    name: Voirie : chaussées et trottoirs\n")

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, line)
    assert "not valid YAML" in problem.message


def test_unknown_holiday_subdivision_is_refused(demo: Path) -> None:
    """The holidays package silently treats GES as metropolitan France: we must not."""
    file = demo / "commune.yaml"
    line = edit(file, "holiday_subdivision: FR", "holiday_subdivision: GES")

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, line)
    assert "'GES'" in problem.message
    assert "57" in problem.message and "6AE" in problem.message


def test_holiday_subdivision_alias_is_accepted(demo: Path) -> None:
    edit(demo / "commune.yaml", "holiday_subdivision: FR", "holiday_subdivision: Moselle")

    assert load_commune(demo).calendar.subdivision == "57"


def test_unknown_timezone_is_refused(demo: Path) -> None:
    file = demo / "commune.yaml"
    line = edit(file, "timezone: Europe/Paris", "timezone: Europe/Pariss")

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, line)
    assert "Europe/Pariss" in problem.message


def test_template_with_undefined_variable_is_refused_at_load(demo: Path) -> None:
    file = demo / "templates.yaml"
    edited = edit(file, "Bonjour {{ citizen.full_name }}", "Bonjour {{ citizen.nom }}")
    body_line = line_of(file, "body: |", before=edited)

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, body_line)
    assert "template error" in problem.message
    assert "nom" in problem.message


def test_template_syntax_error_is_refused_at_load(demo: Path) -> None:
    file = demo / "templates.yaml"
    edited = edit(file, "{{ ticket.tracking_code }}", "{{ ticket.tracking_code }")
    body_line = line_of(file, "body: |", before=edited)

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, body_line)
    assert "template error" in problem.message


def test_template_runtime_error_is_a_config_problem_not_a_crash(demo: Path) -> None:
    file = demo / "templates.yaml"
    edited = edit(file, "{{ ticket.received_on|date_fr }}", "{{ ticket.subject|date_fr }}")
    body_line = line_of(file, "body: |", before=edited)

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, body_line)


def test_duplicate_service_code_is_refused(demo: Path) -> None:
    file = demo / "services.yaml"
    line = edit(file, "code: proprete\n", "code: voirie\n")

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, line)
    assert "'voirie' is used twice" in problem.message


def test_decision_category_without_silence_block_is_refused(demo: Path) -> None:
    file = demo / "categories.yaml"
    edit(
        file,
        "    kind: request\n    default_service: voirie\n",
        "    kind: decision\n    default_service: voirie\n",
    )
    item_line = line_of(file, "- code: chaussee")

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, item_line)
    assert "silence" in problem.message


def test_key_written_twice_is_reported(demo: Path) -> None:
    file = demo / "categories.yaml"
    line = edit(file, "  - code: chaussee\n", "  - code: chaussee\n    kind: decision\n")

    problem = only_problem(demo)

    assert problem.file == file
    assert problem.line in (line + 1, line_of(file, "kind: request"))


def test_unknown_permission_is_refused(demo: Path) -> None:
    file = demo / "roles.yaml"
    line = edit(file, "permissions: [view]", "permissions: [view, delete_everything]")

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (file, line)
    assert "delete_everything" in problem.message


def test_slug_must_match_folder_name(demo: Path, tmp_path: Path) -> None:
    renamed = demo.rename(tmp_path / "champignac")
    file = renamed / "commune.yaml"

    problem = only_problem(renamed)

    assert (problem.file, problem.line) == (file, line_of(file, "slug:"))
    assert "'champignac-en-cambrousse'" in problem.message
    assert "'champignac'" in problem.message


def test_missing_file_is_named(demo: Path) -> None:
    (demo / "roles.yaml").unlink()

    problem = only_problem(demo)

    assert (problem.file, problem.line) == (demo / "roles.yaml", 1)
    assert "missing file" in problem.message


def test_problems_of_several_files_are_all_reported_at_once(demo: Path) -> None:
    commune_line = edit(demo / "commune.yaml", "timezone: Europe/Paris", "timezone: Mars/Olympus")
    roles_line = edit(demo / "roles.yaml", "scope: service", "scope: quartier")

    problems = problems_of(demo)

    assert {(p.file.name, p.line) for p in problems} == {
        ("commune.yaml", commune_line),
        ("roles.yaml", roles_line),
    }


def test_problem_prints_as_file_colon_line(demo: Path) -> None:
    file = demo / "commune.yaml"
    line = edit(file, "timezone: Europe/Paris", "timezone: Europe/Pariss")

    with pytest.raises(ConfigInvalid) as caught:
        load_commune(demo)

    assert str(caught.value).startswith(f"{file}:{line}: ")
