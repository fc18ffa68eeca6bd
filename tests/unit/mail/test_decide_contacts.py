"""decide(): an authorised contact's mail quoting the code joins the ticket; a stranger's never."""

from __future__ import annotations

from dataclasses import replace

from mail_ingest.decide import decide
from mail_ingest.message import DecisionKind, KnownTicket
from tests.unit.mail.test_decide_thread import BASE, COMMUNE, KEY, FakeLookup

LAWYER = "maitre.roux@avocats.example"
SPOUSE = "paul.dupuis@exemple.fr"
WITH_CONTACTS = KnownTicket(id=42, commune_id=COMMUNE, tracking_code="ABCD-EFGH",
                            citizen_email="martine.dupuis@exemple.fr",
                            contacts=(LAWYER, SPOUSE))


def run(**changes: object):  # type: ignore[no-untyped-def]
    lookup = FakeLookup()
    lookup.tickets[42] = WITH_CONTACTS
    return decide(replace(BASE, **changes), COMMUNE, lookup, KEY)


def test_authorised_contact_quoting_the_code_joins_the_ticket() -> None:
    decision = run(subject="RE: [ABCD-EFGH] Lampadaire", from_address="Maitre.Roux@Avocats.example")
    assert (decision.kind, decision.ticket_id) == (DecisionKind.REPLY, 42)
    assert "contact autorisé" in decision.reason


def test_loosely_typed_code_from_a_contact_is_a_follow_up() -> None:
    decision = run(subject="dossier abcd efgh", from_address=SPOUSE)
    assert (decision.kind, decision.ticket_id) == (DecisionKind.FOLLOW_UP, 42)


def test_stranger_with_the_code_still_opens_a_new_ticket() -> None:
    decision = run(subject="[ABCD-EFGH] je sais tout", from_address="voisin@exemple.fr")
    assert decision.kind is DecisionKind.NEW_TICKET and decision.ticket_id is None
    assert decision.reason.startswith("code de suivi d'un autre usager")


def test_a_contact_of_one_ticket_cannot_join_another() -> None:
    decision = run(subject="[PQRS-TV23] bonjour", from_address=LAWYER)
    assert decision.kind is DecisionKind.NEW_TICKET and decision.ticket_id is None


def test_no_sender_is_never_a_contact() -> None:
    assert run(subject="[ABCD-EFGH]", from_address=None).kind is DecisionKind.NEW_TICKET
