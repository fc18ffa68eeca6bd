"""How a note names colleagues: @prenom.nom (accents and spaces folded) or the e-mail's start."""

from __future__ import annotations

from ticketing.models import Agent
from ticketing.operations.dispatch import handle_of, mentioned_in

LEON = Agent(id=1, email="chef.voirie@champignac.example", full_name="Léon Prunelle")
PACOME = Agent(id=2, email="elu@champignac.example", full_name="Pacôme de Champignac")
AGENTS = [LEON, PACOME]


def test_handles_fold_accents_and_spaces():
    assert handle_of(LEON) == "leon.prunelle"
    assert handle_of(PACOME) == "pacome.de.champignac"


def test_a_note_mentions_by_handle_or_by_mail_name_case_insensitively():
    assert mentioned_in("Vu avec @Leon.Prunelle ce matin.", AGENTS) == [LEON]
    assert mentioned_in("@elu, @chef.voirie : à voir", AGENTS) == [LEON, PACOME]


def test_an_e_mail_address_or_a_stray_at_sign_mentions_nobody():
    assert mentioned_in("écrire à chef.voirie@champignac.example", AGENTS) == []
    assert mentioned_in("rendez-vous @ 10h, @inconnu", AGENTS) == []
