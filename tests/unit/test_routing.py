"""Which service queue a new request lands in."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketing.config.schema import Category, RoutingRule
from ticketing.domain.routing import fold, route_ticket

COMMUNES = Path(__file__).resolve().parents[2] / "config" / "communes"


@pytest.fixture(scope="module")
def demo():
    from ticketing.config.loader import load_commune

    return load_commune(COMMUNES / "champignac-en-cambrousse")


@pytest.fixture(scope="module")
def route(demo):
    """Route a request the way the demo commune does."""

    def route_(text: str, category: str | None = None, channel: str = "email"):
        return route_ticket(
            demo.routing_rules,
            demo.categories[category] if category else None,
            demo.commune.triage_service,
            channel,
            text,
        )

    return route_


def rule(name: str, service: str, **when) -> RoutingRule:
    return RoutingRule.model_validate({"name": name, "service": service, "when": when})


def test_fold_strips_accents_and_case() -> None:
    assert fold("Réverbère ÉTEINT, Œuf") == "reverbere eteint, oeuf"


@pytest.mark.parametrize(
    "text",
    [
        "Le lampadaire devant le 12 est éteint",
        "Deux LAMPADAIRES ne s'allument plus",
        "Le Réverbère clignote",
        "les reverberes de la place sont eteints",  # typed without accents
        "Un candélabre penche dangereusement",
    ],
)
def test_lighting_keywords_match_regardless_of_case_accents_and_plural(route, text) -> None:
    decision = route(text)

    assert decision.service == "eclairage"
    assert "Éclairage public" in decision.reason


@pytest.mark.parametrize(
    "text",
    ["Un gros nid de poule rue Haute", "Des nids-de-poule partout", "La chaussée est défoncée"],
)
def test_roadway_keywords_go_to_voirie(route, text) -> None:
    assert route(text).service == "voirie"


def test_keywords_match_whole_words_only(route) -> None:
    # "tag" must not match inside "stage", nor "branche" inside "branchement".
    decision = route("Je souhaiterais un stage et le branchement de l'eau")

    assert decision.service == "courrier"


def test_a_building_permit_filing_is_not_a_fly_tipping(route) -> None:
    decision = route("Suite au dépôt de mon permis de construire", "travaux-autorisation")

    assert decision.service == "urbanisme"


def test_danger_rule_comes_before_roadway_rule_and_marks_urgent(route) -> None:
    decision = route("Effondrement de la chaussée devant l'école")

    assert decision.service == "voirie"
    assert decision.priority == "urgent"
    assert "Danger" in decision.reason


def test_channel_condition_letter_complaint_goes_to_cabinet_with_high_priority(route) -> None:
    by_letter = route("Toujours rien depuis mon courrier", "reclamation", channel="letter")
    by_web = route("Toujours rien depuis mon courrier", "reclamation", channel="web")

    assert (by_letter.service, by_letter.priority) == ("cabinet", "high")
    assert (by_web.service, by_web.priority) == ("cabinet", None)


def test_complaint_mentioning_a_street_lamp_stays_a_complaint(route) -> None:
    decision = route("Personne n'a réparé le lampadaire signalé", "reclamation", channel="web")

    assert decision.service == "cabinet"


def test_category_default_service_when_no_rule_matches(route) -> None:
    decision = route("Mon fils entre en petite section", "inscription-scolaire", "web")

    assert decision.service == "ecoles"
    assert decision.priority is None
    assert "Inscription scolaire" in decision.reason


def test_keyword_rule_overrides_a_wrong_category(route) -> None:
    # The citizen chose "Propreté" but writes about a street lamp.
    assert route("Le réverbère est tombé", "proprete", "web").service == "eclairage"


@pytest.mark.parametrize("category", [None, "autre"])
def test_fallback_is_the_triage_queue(route, category) -> None:
    decision = route("Bonjour, à qui dois-je m'adresser pour une fête de quartier ?", category)

    assert decision.service == "courrier"
    assert "tri" in decision.reason


def test_rules_are_tried_in_order() -> None:
    lamp = rule("lampes", "eclairage", keywords_any=["lampadaire"])
    road = rule("rue", "voirie", keywords_any=["rue"])
    text = "Le lampadaire de la rue"

    assert route_ticket([lamp, road], None, "tri", "web", text).service == "eclairage"
    assert route_ticket([road, lamp], None, "tri", "web", text).service == "voirie"


def test_all_conditions_of_a_rule_must_hold() -> None:
    letters_about_schools = rule(
        "écoles par courrier", "ecoles", channels=["letter"], keywords_any=["école"]
    )
    school = Category(code="ecole", label="École")

    def service(category, channel, text):
        return route_ticket([letters_about_schools], category, "tri", channel, text).service

    assert service(None, "letter", "L'école") == "ecoles"
    assert service(None, "email", "L'école") == "tri"
    assert service(school, "letter", "Bonjour") == "tri"


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("plaque d'égout", "La plaque d’égout est descellée"),  # typographic apostrophe
        ("nid de poule", "Un énorme nid-de-poule rue Haute"),  # hyphens
        ("nid de poule", "Des nids de poules partout"),  # plural of each word
        ("cœur de ville", "travaux dans le coeur de ville"),  # ligature
    ],
)
def test_keywords_match_the_spellings_citizens_type(keyword: str, text: str) -> None:
    decision = route_ticket(
        [rule("r", "voirie", keywords_any=[keyword])], None, "courrier", "web", text
    )
    assert decision.service == "voirie"
