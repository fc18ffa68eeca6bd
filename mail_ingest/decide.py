"""What to do with a parsed mail: new ticket, reply to a ticket, follow-up, automatic, bounce.

Joining an existing case needs proof: one of our signed Message-IDs, or the exact tracking
code sent by the ticket's own citizen or by one of its authorised contacts (recorded by an
agent: ticketing/operations/contacts.py). Weaker hints (an id we cannot verify, a code typed
loosely) only link a *new* ticket to the sender's own earlier one, and nothing ever attaches
mail to someone else's case. Reasons are in French: agents read them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mail_ingest.message import (
    AutomaticKind,
    Decision,
    DecisionKind,
    KnownTicket,
    ParsedMail,
    ThreadLookup,
)
from ticketing.domain.codes import TRACKING_ALPHABET, normalise_tracking_code
from ticketing.domain.message_ids import claimed_ticket, looks_signed, verify_message_id

MAX_CODES = 5  # subject candidates looked up; a subject is not a search query

_CODE_CHAR = f"[{TRACKING_ALPHABET}]"
_STRICT_CODE = re.compile(rf"(?<![0-9A-Za-z])({_CODE_CHAR}{{4}}-{_CODE_CHAR}{{4}})(?![0-9A-Za-z])")
_LOOSE_CODE = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{4}[\s_.-]?[0-9A-Za-z]{4})(?![0-9A-Za-z])")

_AUTOMATIC_REASONS = {
    AutomaticKind.AUTO_REPLY: "réponse automatique (absence, accusé…)",
    AutomaticKind.BULK: "envoi en nombre",
    AutomaticKind.MAILING_LIST: "message de liste de diffusion",
    AutomaticKind.BOUNCE: "avis de non-remise",
    AutomaticKind.LOOP: "message émis par Aiguillage lui-même (boucle évitée)",
}


def decide(mail: ParsedMail, commune_id: int, lookup: ThreadLookup, key: bytes) -> Decision:
    """The decision for ``mail`` received by a mailbox of ``commune_id``."""
    if mail.automatic is AutomaticKind.BOUNCE:
        return _decide_bounce(mail, commune_id, lookup, key)
    if mail.automatic:
        return Decision(DecisionKind.AUTOMATIC, _AUTOMATIC_REASONS[mail.automatic])

    sender = (mail.from_address or "").lower()
    thread_ids = tuple(dict.fromkeys(mail.in_reply_to + tuple(reversed(mail.references))))
    forged = False
    follow_up: KnownTicket | None = None

    for message_id in thread_ids:
        signed = verify_message_id(message_id, key)
        if signed:
            ticket = _same_commune(lookup.by_id(signed[1]), commune_id)
            if signed[0] == commune_id and ticket:
                return Decision(DecisionKind.REPLY, "réponse à un message signé de ce dossier",
                                ticket.id)
            continue  # another commune's id (or a deleted ticket): not proof here
        candidate = _unverified_ticket(message_id, commune_id, lookup)
        if candidate is None:
            forged = forged or looks_signed(message_id)
        elif _may_write(candidate, sender):
            follow_up = follow_up or candidate
        else:
            forged = True

    stranger_code = False
    for code, strict in _subject_codes(mail.subject):
        ticket = _same_commune(lookup.by_tracking_code(code), commune_id)
        if ticket is None:
            continue
        if not _may_write(ticket, sender):
            stranger_code = True
        elif strict:
            who = "l'usager" if _is_citizen(ticket, sender) else "un contact autorisé"
            return Decision(DecisionKind.REPLY, f"code de suivi {code} envoyé par {who} du "
                                                "dossier", ticket.id)
        else:
            follow_up = follow_up or ticket

    if follow_up:
        return Decision(DecisionKind.FOLLOW_UP, "suite possible d'un dossier du même usager "
                                                "(référence non vérifiable)", follow_up.id)
    if forged:
        return Decision(DecisionKind.NEW_TICKET, "identifiant de message signé invalide "
                                                 "(possible falsification) : nouveau dossier")
    if stranger_code:
        return Decision(DecisionKind.NEW_TICKET, "code de suivi d'un autre usager : nouveau "
                                                 "dossier")
    return Decision(DecisionKind.NEW_TICKET, "nouvelle demande")


def _decide_bounce(mail: ParsedMail, commune_id: int, lookup: ThreadLookup,
                   key: bytes) -> Decision:
    candidates = dict.fromkeys(mail.bounced_message_ids + mail.in_reply_to + mail.references)
    for message_id in candidates:
        signed = verify_message_id(message_id, key)
        ticket = None
        if signed and signed[0] == commune_id:
            ticket = _same_commune(lookup.by_id(signed[1]), commune_id)
        elif signed is None:
            ticket = _same_commune(lookup.by_outgoing_message_id(message_id), commune_id)
        if ticket:
            return Decision(DecisionKind.BOUNCE, "avis de non-remise d'un message de ce dossier",
                            ticket.id)
    return Decision(DecisionKind.BOUNCE, "avis de non-remise sans dossier retrouvé")


def _unverified_ticket(message_id: str, commune_id: int,
                       lookup: ThreadLookup) -> KnownTicket | None:
    """The ticket an id that failed verification points to: a mail we sent (stored id) or
    the ticket an id of our shape claims."""
    ticket = _same_commune(lookup.by_outgoing_message_id(message_id), commune_id)
    if ticket is None:
        claimed = claimed_ticket(message_id)
        if claimed and claimed[0] == commune_id:
            ticket = _same_commune(lookup.by_id(claimed[1]), commune_id)
    return ticket


def _subject_codes(subject: str) -> Iterator[tuple[str, bool]]:
    """(normalised code, typed exactly as we write it) for the first codes in the subject."""
    seen: set[str] = set()
    strict = [(match, True) for match in _STRICT_CODE.findall(subject)]
    loose = [(match, False) for match in _LOOSE_CODE.findall(subject)]
    for typed, is_strict in strict + loose:
        code = normalise_tracking_code(typed)
        if code and code not in seen:
            seen.add(code)
            yield code, is_strict
            if len(seen) >= MAX_CODES:
                return


def _same_commune(ticket: KnownTicket | None, commune_id: int) -> KnownTicket | None:
    return ticket if ticket is not None and ticket.commune_id == commune_id else None


def _is_citizen(ticket: KnownTicket, sender: str) -> bool:
    return bool(sender) and (ticket.citizen_email or "").strip().lower() == sender


def _may_write(ticket: KnownTicket, sender: str) -> bool:
    """The ticket's citizen or one of its authorised contacts."""
    return _is_citizen(ticket, sender) or (bool(sender) and sender in ticket.contacts)
