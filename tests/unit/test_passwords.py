"""The password policy: length rather than composition, no common or personal password."""

from __future__ import annotations

import pytest

from ticketing.domain.passwords import MAX_LENGTH, common_passwords, is_common, password_problems

AGENT = dict(email="gaston.lagaffe@champignac.example", full_name="Gaston Lagaffe",
             commune_name="Champignac-en-Cambrousse")


def test_a_long_passphrase_without_digits_or_capitals_is_accepted() -> None:
    assert password_problems("un cheval bleu mange des pommes", **AGENT) == []


@pytest.mark.parametrize("password", ["court", "a" * 11, "Tr0ub4dor&3"])
def test_shorter_than_twelve_characters_is_refused(password: str) -> None:
    problems = password_problems(password, **AGENT)
    assert problems and "au moins 12 caractères" in problems[0]


def test_longer_than_the_maximum_is_refused() -> None:
    problems = password_problems("x" * (MAX_LENGTH + 1), **AGENT)
    assert problems and f"au plus {MAX_LENGTH}" in problems[0]


@pytest.mark.parametrize("password", [
    "motdepasse1234", "MotDePasse2026!", "azertyuiop123", "AZERTYUIOPQSDF", "123456789012",
    "qwertyuiop!!", "Mairie2026!!!", "soleil2026soleil", "jetaimejetaime", "Bonjour123456",
])
def test_common_passwords_are_refused_whatever_the_case_or_trailing_year(password: str) -> None:
    problems = password_problems(password, **AGENT)
    assert problems and "trop courant" in problems[0]


def test_the_shipped_list_holds_french_and_keyboard_entries() -> None:
    words = common_passwords()
    assert {"motdepasse", "azerty", "qwerty", "soleil", "123456", "mairie"} <= words
    assert 1000 < len(words) < 10000
    assert all(w == w.lower() for w in words)


def test_is_common_ignores_accents() -> None:
    assert is_common("Été2026!")  # "ete" is in the list


@pytest.mark.parametrize("password", [
    "GastonLagaffe2026", "gaston.lagaffe@champignac", "Champignac en Cambrousse 1",
    "champignac2026!!", "Lagaffe-Lagaffe-1",
])
def test_the_agents_own_name_address_or_commune_is_refused(password: str) -> None:
    problems = password_problems(password, **AGENT)
    assert problems and "votre nom" in problems[0]


def test_a_long_passphrase_may_mention_the_commune() -> None:
    assert password_problems("les cepes de champignac sont les meilleurs", **AGENT) == []
