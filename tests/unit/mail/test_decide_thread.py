"""decide(): the rules that join a mail to a ticket, link it, or open a new one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mail_ingest.decide import decide
from mail_ingest.message import (
    AutomaticKind,
    Decision,
    DecisionKind,
    KnownTicket,
    ParsedMail,
)
from ticketing.domain.message_ids import outgoing_message_id

KEY = b"cle-de-test"
COMMUNE = 1
OTHER = 2
CITIZEN = "martine.dupuis@exemple.fr"

TICKET = KnownTicket(id=42, commune_id=COMMUNE, tracking_code="ABCD-EFGH", citizen_email=CITIZEN)
FOREIGN = KnownTicket(id=77, commune_id=OTHER, tracking_code="WXYZ-2345",
                      citizen_email=CITIZEN)
LETTER = KnownTicket(id=50, commune_id=COMMUNE, tracking_code="PQRS-TV23", citizen_email=None)
SIGNED = outgoing_message_id(COMMUNE, 42, KEY, "champignac.example")
STORED_UNSIGNED = "ancien-envoi-42@champignac.example"


class FakeLookup:
    """What the apply stage's lookup answers, from a few tickets in memory."""

    def __init__(self) -> None:
        self.tickets = {ticket.id: ticket for ticket in (TICKET, FOREIGN, LETTER)}
        self.outgoing = {SIGNED: TICKET, STORED_UNSIGNED: TICKET}
        self.calls: list[str] = []

    def by_id(self, ticket_id: int) -> KnownTicket | None:
        self.calls.append(f"id:{ticket_id}")
        return self.tickets.get(ticket_id)

    def by_tracking_code(self, code: str) -> KnownTicket | None:
        self.calls.append(f"code:{code}")
        return next((t for t in self.tickets.values() if t.tracking_code == code), None)

    def by_outgoing_message_id(self, message_id: str) -> KnownTicket | None:
        self.calls.append(f"out:{message_id}")
        return self.outgoing.get(message_id)


BASE = ParsedMail(
    raw_sha256="0" * 64, size=100, message_id="m@exemple.fr", in_reply_to=(), references=(),
    from_address=CITIZEN, from_name="Martine Dupuis", reply_to=None,
    to=("mairie@champignac.example",), cc=(), subject="Lampadaire", date=None, text="x",
    html=None, remote_content_blocked=False, attachments=(), automatic=None,
)


def run(**changes: object) -> Decision:
    return decide(replace(BASE, **changes), COMMUNE, FakeLookup(), KEY)


def tamper(message_id: str, ticket: str, nonce: str | None = None) -> str:
    local, _, domain = message_id.partition("@")
    parts = local.split(".")
    parts[2] = ticket
    parts[3] = nonce or parts[3]
    return ".".join(parts) + "@" + domain


def test_a_new_mail_opens_a_ticket() -> None:
    decision = run()
    assert decision == Decision(DecisionKind.NEW_TICKET, "nouvelle demande")


def test_signed_in_reply_to_joins_the_ticket() -> None:
    decision = run(in_reply_to=(SIGNED,))
    assert (decision.kind, decision.ticket_id) == (DecisionKind.REPLY, 42)


def test_signed_id_deep_in_references_joins_even_from_another_address() -> None:
    # The signature is the proof (the citizen may answer from their phone's address).
    decision = run(references=("x@y", SIGNED), from_address="autre@exemple.fr")
    assert (decision.kind, decision.ticket_id) == (DecisionKind.REPLY, 42)


def test_forged_signed_id_never_attaches() -> None:
    forged = tamper(SIGNED, "50")  # claims the letter ticket, which has no citizen e-mail
    decision = run(in_reply_to=(forged,), from_address="escroc@evil.example")
    assert decision.kind is DecisionKind.NEW_TICKET and decision.ticket_id is None
    assert "falsification" in decision.reason


def test_forged_id_claiming_someone_elses_ticket_never_attaches() -> None:
    decision = run(in_reply_to=(tamper(SIGNED, "42", "f00d"),), from_address="escroc@evil.example")
    assert decision.kind is DecisionKind.NEW_TICKET and decision.ticket_id is None


def test_forged_id_from_the_citizen_is_only_a_follow_up() -> None:
    decision = run(in_reply_to=(tamper(SIGNED, "42", "f00d"),))
    assert (decision.kind, decision.ticket_id) == (DecisionKind.FOLLOW_UP, 42)


def test_stored_outgoing_id_that_fails_the_signature_from_a_stranger_is_forged() -> None:
    decision = run(in_reply_to=(STORED_UNSIGNED,), from_address="escroc@evil.example")
    assert decision.kind is DecisionKind.NEW_TICKET
    assert "falsification" in decision.reason


def test_stored_outgoing_id_that_fails_the_signature_from_the_citizen_is_a_follow_up() -> None:
    decision = run(in_reply_to=(STORED_UNSIGNED,), from_address=CITIZEN.upper())
    assert (decision.kind, decision.ticket_id) == (DecisionKind.FOLLOW_UP, 42)


def test_id_signed_for_another_commune_does_not_join() -> None:
    other = outgoing_message_id(OTHER, 77, KEY, "trifouillis.example")
    decision = run(in_reply_to=(other,))
    assert decision.kind is DecisionKind.NEW_TICKET and decision.ticket_id is None


def test_id_signed_for_a_ticket_that_is_not_found_does_not_join() -> None:
    decision = run(in_reply_to=(outgoing_message_id(COMMUNE, 999, KEY, "x.example"),))
    assert decision.kind is DecisionKind.NEW_TICKET


def test_id_signed_with_another_key_is_forged() -> None:
    decision = run(in_reply_to=(outgoing_message_id(COMMUNE, 42, b"autre", "x.example"),),
                   from_address="escroc@evil.example")
    assert decision.kind is DecisionKind.NEW_TICKET and "falsification" in decision.reason


def test_citizen_with_the_code_joins_whatever_the_case_of_the_address() -> None:
    decision = run(subject="RE: [ABCD-EFGH] Lampadaire", from_address="Martine.Dupuis@EXEMPLE.fr")
    assert (decision.kind, decision.ticket_id) == (DecisionKind.REPLY, 42)
    assert "ABCD-EFGH" in decision.reason


def test_bare_code_in_the_subject_joins() -> None:
    decision = run(subject="Suite ABCD-EFGH merci")
    assert (decision.kind, decision.ticket_id) == (DecisionKind.REPLY, 42)


def test_stranger_with_a_valid_code_gets_a_new_ticket() -> None:
    decision = run(subject="[ABCD-EFGH] je sais tout", from_address="curieux@exemple.fr")
    assert decision.kind is DecisionKind.NEW_TICKET and decision.ticket_id is None
    assert decision.reason.startswith("code de suivi d'un autre usager")


def test_loosely_typed_code_from_the_citizen_is_a_follow_up() -> None:
    decision = run(subject="suite de mon dossier abcd efgh")
    assert (decision.kind, decision.ticket_id) == (DecisionKind.FOLLOW_UP, 42)


def test_loosely_typed_code_from_a_stranger_is_a_new_ticket() -> None:
    decision = run(subject="abcd efgh", from_address="curieux@exemple.fr")
    assert decision.kind is DecisionKind.NEW_TICKET and decision.ticket_id is None


def test_code_of_another_commune_is_ignored() -> None:
    decision = run(subject="[WXYZ-2345] bonjour")
    assert decision == Decision(DecisionKind.NEW_TICKET, "nouvelle demande")


def test_ticket_without_citizen_email_never_matches_a_code() -> None:
    assert run(subject="[PQRS-TV23]").kind is DecisionKind.NEW_TICKET
    assert run(subject="[PQRS-TV23]", from_address=None).kind is DecisionKind.NEW_TICKET


def test_subject_lookups_are_capped() -> None:
    lookup = FakeLookup()
    subject = " ".join(f"[{code}]" for code in ("AAAA-AAA1", "AAAA-AAA2", "AAAA-AAA3",
                                                "AAAA-AAA4", "AAAA-AAA5", "AAAA-AAA6"))
    decide(replace(BASE, subject=subject), COMMUNE, lookup, KEY)
    assert len([call for call in lookup.calls if call.startswith("code:")]) == 5


@pytest.mark.parametrize("kind", [AutomaticKind.AUTO_REPLY, AutomaticKind.BULK,
                                  AutomaticKind.MAILING_LIST, AutomaticKind.LOOP])
def test_automatic_mail_never_becomes_a_reply(kind: AutomaticKind) -> None:
    decision = run(automatic=kind, in_reply_to=(SIGNED,), subject="[ABCD-EFGH] absent")
    assert decision.kind is DecisionKind.AUTOMATIC and decision.ticket_id is None
    assert decision.reason


def test_bounce_finds_the_ticket_by_the_signed_id() -> None:
    decision = run(automatic=AutomaticKind.BOUNCE, bounced_message_ids=(SIGNED,),
                   from_address="mailer-daemon@mx.exemple.fr")
    assert (decision.kind, decision.ticket_id) == (DecisionKind.BOUNCE, 42)


def test_bounce_finds_the_ticket_by_a_stored_outgoing_id() -> None:
    decision = run(automatic=AutomaticKind.BOUNCE, bounced_message_ids=(STORED_UNSIGNED,))
    assert (decision.kind, decision.ticket_id) == (DecisionKind.BOUNCE, 42)


def test_bounce_of_unknown_or_forged_or_foreign_mail_has_no_ticket() -> None:
    for ids in [(), ("inconnu@x",), (tamper(SIGNED, "50"),),
                (outgoing_message_id(OTHER, 77, KEY, "t.example"),)]:
        decision = run(automatic=AutomaticKind.BOUNCE, bounced_message_ids=ids)
        assert (decision.kind, decision.ticket_id) == (DecisionKind.BOUNCE, None)


def test_parsed_corpus_reply_joins_its_ticket() -> None:
    from pathlib import Path

    from mail_ingest.parse import parse_mail

    corpus = Path(__file__).resolve().parents[2] / "mail_corpus"
    mail = parse_mail((corpus / "11-reponse.eml").read_bytes())
    decision = decide(mail, COMMUNE, FakeLookup(), b"corpus-test-key")
    assert (decision.kind, decision.ticket_id) == (DecisionKind.REPLY, 42)
    bounce = parse_mail((corpus / "14-rebond.eml").read_bytes())
    decision = decide(bounce, COMMUNE, FakeLookup(), b"corpus-test-key")
    assert (decision.kind, decision.ticket_id) == (DecisionKind.BOUNCE, 42)
    absent = parse_mail((corpus / "12-absence.eml").read_bytes())
    assert decide(absent, COMMUNE, FakeLookup(), b"corpus-test-key").kind is \
        DecisionKind.AUTOMATIC
