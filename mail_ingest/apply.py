"""Apply: carry out a ``Decision`` through ticketing's use cases (intake, events, outbox).

Nothing here commits: the poller commits the ticket or reply together with the inbound
record and the mailbox position, so a mail is processed exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mail_ingest.message import Decision, DecisionKind, KnownTicket, ParsedMail
from ticketing.config.schema import Channel, Mailbox
from ticketing.domain.message_ids import normalise_message_id
from ticketing.models import (
    Attachment,
    EntryKind,
    OutboxMessage,
    Status,
    ThreadEntry,
    Ticket,
    utcnow,
)
from ticketing.operations.attachments import (
    AttachmentRejected,
    IncomingFile,
    check_files,
    new_public_id,
    safe_filename,
    store_bytes,
)
from ticketing.operations.contacts import contact_addresses
from ticketing.operations.context import CommuneContext
from ticketing.operations.deadlines import resume_clock
from ticketing.operations.events import Actor, change_ticket, record_event
from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_requests
from ticketing.operations.merge import record_merged_reply, surviving_ticket
from ticketing.operations.outbox import enqueue_mail
from ticketing.operations.tickets import add_note

MAIL_ACTOR = Actor.system("Aiguillage (courriel)")
NOTE_SIGNATURE = "Aiguillage — réception des courriels"
REOPENED_BY_REPLY = (Status.WAITING_CITIZEN, Status.ANSWERED, Status.CLOSED)


@dataclass(frozen=True)
class Applied:
    ticket_id: int | None
    summary: str  # for the inbound record and the logs


class DatabaseThreadLookup:
    """``ThreadLookup`` over the database, never leaving ``commune_id``."""

    def __init__(self, session: Session, commune_id: int):
        self.session = session
        self.commune_id = commune_id

    def _known(self, ticket: Ticket | None) -> KnownTicket | None:
        if ticket is None or ticket.commune_id != self.commune_id:
            return None
        email = ticket.citizen.email if ticket.citizen else None
        return KnownTicket(ticket.id, ticket.commune_id, ticket.tracking_code, email,
                           contact_addresses(self.session, ticket.id))

    def by_id(self, ticket_id: int) -> KnownTicket | None:
        return self._known(self.session.get(Ticket, ticket_id))

    def by_tracking_code(self, code: str) -> KnownTicket | None:
        return self._known(self.session.scalars(select(Ticket).where(
            Ticket.commune_id == self.commune_id,
            Ticket.tracking_code == code.strip().upper())).first())

    def by_outgoing_message_id(self, message_id: str) -> KnownTicket | None:
        normal = normalise_message_id(message_id)
        if not normal:
            return None
        ticket_id = self.session.scalar(select(OutboxMessage.ticket_id).where(
            OutboxMessage.commune_id == self.commune_id,
            OutboxMessage.message_id == normal).limit(1))
        return self.by_id(ticket_id) if ticket_id is not None else None


@dataclass
class _Files:
    accepted: list[IncomingFile] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class SentCounts:
    """Automatic answers (acknowledgements, rejections) queued to each address in the last
    hour, for a group of mails handled in one transaction: read in one query for the whole
    group, then kept up to date as the group queues more. Call ``forget()`` when a rollback
    may have undone some of them: the next look-up reads the database again."""

    def __init__(self, session: Session, commune_id: int, now: datetime | None = None):
        self.session, self.commune_id = session, commune_id
        self.now = now or utcnow()
        self._counts: dict[str, int] = {}

    def load(self, addresses: list[str]) -> None:
        wanted = {address.lower() for address in addresses} - self._counts.keys()
        if not wanted:
            return
        rows = self.session.execute(select(OutboxMessage.to_address, func.count(OutboxMessage.id))
                                    .where(*_sent_filter(self.commune_id, self.now),
                                           OutboxMessage.to_address.in_(wanted))
                                    .group_by(OutboxMessage.to_address))
        self._counts.update(dict.fromkeys(wanted, 0))
        self._counts.update({address: int(count) for address, count in rows})

    def count(self, address: str) -> int:
        self.load([address])
        return self._counts[address.lower()]

    def queued(self, address: str) -> None:
        if address.lower() in self._counts:
            self._counts[address.lower()] += 1

    def forget(self) -> None:
        self._counts.clear()


def apply_decision(
    session: Session, ctx: CommuneContext, mailbox: Mailbox, mail: ParsedMail,
    decision: Decision, now: datetime | None = None, sent: SentCounts | None = None,
) -> Applied:
    """``sent``: the group's per-sender counts for the acknowledgement cap (else a query)."""
    now = now or utcnow()
    if decision.kind in (DecisionKind.NEW_TICKET, DecisionKind.FOLLOW_UP):
        return _open_ticket(session, ctx, mailbox, mail, decision, now, sent)
    ticket = _ticket(session, ctx, decision.ticket_id)
    if decision.kind == DecisionKind.REPLY and ticket is not None:
        kept = surviving_ticket(session, ticket)
        if kept.id != ticket.id:
            return _add_merged_reply(session, ctx, mail, ticket, kept, now)
        return _add_reply(session, ctx, mail, ticket, now)
    if decision.kind == DecisionKind.REPLY:  # the ticket vanished: keep the mail as a request
        return _open_ticket(session, ctx, mailbox, mail, decision, now, sent)
    if decision.kind == DecisionKind.BOUNCE:
        return _record_bounce(session, mail, ticket, now)
    # AUTOMATIC: stored only; on its ticket as a note, changing nothing else.
    if ticket is not None:
        _add_note(session, ticket, f"Courriel automatique reçu ({mail.automatic or 'automatique'})"
                  f" de {mail.from_address or 'expéditeur inconnu'} : {mail.subject}\n\n"
                  f"{mail.text[:4000]}")
    return Applied(ticket.id if ticket else None, f"automatic: {decision.reason}")


def _ticket(session: Session, ctx: CommuneContext, ticket_id: int | None) -> Ticket | None:
    if ticket_id is None:
        return None
    ticket = session.get(Ticket, ticket_id)
    return ticket if ticket is not None and ticket.commune_id == ctx.commune_id else None


def _open_ticket(
    session: Session, ctx: CommuneContext, mailbox: Mailbox, mail: ParsedMail,
    decision: Decision, now: datetime, sent: SentCounts | None = None,
) -> Applied:
    return open_tickets(session, ctx, mailbox, [(mail, decision)], now, sent)[0]


def open_tickets(
    session: Session, ctx: CommuneContext, mailbox: Mailbox,
    mails: list[tuple[ParsedMail, Decision]], now: datetime | None = None,
    sent: SentCounts | None = None,
) -> list[Applied]:
    """New tickets (or follow-ups) for ``mails``, in order, through the intake use case in
    one batch; every ticket has its id on return. ``sent``: as for ``apply_decision``."""
    now = now or utcnow()
    files = [_sort_files(ctx, mail) for mail, _ in mails]
    capped = [_ack_capped(session, ctx, mailbox, mail, now, sent) for mail, _ in mails]
    tickets = submit_requests(session, ctx, [
        (_intake_request(mail, mailbox, sorted_files, now, not cap),
         Actor.citizen(mail.from_address or "courriel"))
        for (mail, _), sorted_files, cap in zip(mails, files, capped, strict=True)])
    if any(ticket.id is None for ticket in tickets):
        session.flush()  # no acknowledgement flushed them: the inbound records want the ids
    applied = []
    for (mail, decision), ticket, sorted_files, cap in zip(mails, tickets, files, capped,
                                                          strict=True):
        if cap:
            record_event(session, ctx.commune_id, MAIL_ACTOR, "acknowledgement.capped", ticket,
                         after={"to": mail.from_address, "cap_per_hour": mailbox.ack_cap_per_hour})
        if decision.kind == DecisionKind.FOLLOW_UP and decision.ticket_id is not None:
            earlier = _ticket(session, ctx, decision.ticket_id)
            if earlier is not None:
                change_ticket(session, ticket, MAIL_ACTOR, "ticket.follow_up_linked",
                              follow_up_of_id=earlier.id)
        _note_refused(session, ticket, sorted_files)
        applied.append(Applied(ticket.id, f"{decision.kind}: ticket {ticket.number}"))
    return applied


def _ack_capped(session: Session, ctx: CommuneContext, mailbox: Mailbox, mail: ParsedMail,
                now: datetime, sent: SentCounts | None) -> bool:
    """Whether the sender already had ``ack_cap_per_hour`` automatic answers this hour
    (counting this one as queued when it is not)."""
    address = mail.from_address or ""
    if not address:
        return False
    already = (sent.count(address) if sent is not None else
               _acks_last_hour(session, ctx.commune_id, address, now))
    if already >= mailbox.ack_cap_per_hour:
        return True
    if sent is not None:
        sent.queued(address)
    return False


def _intake_request(mail: ParsedMail, mailbox: Mailbox, files: _Files, now: datetime,
                    acknowledge: bool) -> IntakeRequest:
    first, last = split_name(mail.from_name, mail.from_address)
    return IntakeRequest(
        channel=Channel.EMAIL,
        citizen=CitizenDetails(last_name=last, first_name=first, email=mail.from_address),
        description=mail.text.strip() or "(courriel sans texte)",
        received_at=now,
        subject=mail.subject.strip()[:300],
        files=files.accepted,
        forced_service=mailbox.service_hint,
        acknowledge=acknowledge,
    )


def _inbound_entry(
    session: Session, ctx: CommuneContext, mail: ParsedMail, ticket: Ticket, now: datetime
) -> tuple[_Files, ThreadEntry, Actor]:
    """The citizen's mail as a message of ``ticket``'s thread, with the files accepted."""
    files = _sort_files(ctx, mail)
    entry = ThreadEntry(commune_id=ticket.commune_id, ticket=ticket, kind=EntryKind.INBOUND,
                        subject=mail.subject.strip()[:300],
                        body=mail.text.strip() or "(courriel sans texte)", created_at=now)
    session.add(entry)
    _store_files(session, ctx, ticket, entry, files.accepted)
    return files, entry, Actor.citizen(mail.from_address or "courriel")


def _add_reply(
    session: Session, ctx: CommuneContext, mail: ParsedMail, ticket: Ticket, now: datetime
) -> Applied:
    files, entry, actor = _inbound_entry(session, ctx, mail, ticket, now)
    record_event(session, ticket.commune_id, actor, "ticket.citizen_replied", ticket,
                 after={"subject": entry.subject, "attachments": len(files.accepted)})
    previous = ticket.status
    if previous in REOPENED_BY_REPLY:
        resume_clock(session, ticket, actor, ctx.config)  # stood while waiting for the citizen
        change_ticket(session, ticket, actor, "ticket.status_changed",
                      status=Status.IN_PROGRESS, closed_at=None)
    _note_refused(session, ticket, files)
    _notify_assignee(session, ctx, ticket, mail)
    return Applied(ticket.id, f"reply: ticket {ticket.number} ({previous} → {ticket.status})")


def _add_merged_reply(
    session: Session, ctx: CommuneContext, mail: ParsedMail, duplicate: Ticket, kept: Ticket,
    now: datetime,
) -> Applied:
    """A reply on a duplicate merged since: it joins the ticket kept, recorded as the
    duplicate's citizen's (their tracking page shows it, the kept ticket's citizen's does
    not). It does not answer what the kept ticket may be waiting for, so only an answered
    or closed ticket kept is put back in progress; its agent is told either way."""
    files, entry, actor = _inbound_entry(session, ctx, mail, kept, now)
    record_merged_reply(session, duplicate, kept, entry, actor)
    previous = kept.status
    if previous in (Status.ANSWERED, Status.CLOSED):
        change_ticket(session, kept, actor, "ticket.status_changed",
                      status=Status.IN_PROGRESS, closed_at=None)
    _note_refused(session, kept, files)
    _notify_assignee(session, ctx, kept, mail)
    return Applied(kept.id, f"reply: merged ticket {duplicate.number} → kept ticket "
                            f"{kept.number} ({previous} → {kept.status})")


def _record_bounce(
    session: Session, mail: ParsedMail, ticket: Ticket | None, now: datetime
) -> Applied:
    if ticket is None:
        return Applied(None, "bounce: no ticket of ours found")
    _add_note(session, ticket, "Un courriel envoyé à l'usager n'a pas pu être distribué "
              f"(retour de {mail.from_address or 'serveur inconnu'}) : {mail.subject}\n\n"
              f"{mail.text[:4000]}")
    citizen = ticket.citizen
    if citizen is not None and citizen.email and citizen.email_bounced_at is None:
        citizen.email_bounced_at = now
        record_event(session, ticket.commune_id, MAIL_ACTOR, "citizen.email_bounced", ticket,
                     after={"email": citizen.email})
    return Applied(ticket.id, f"bounce: ticket {ticket.number}, address flagged")


def _add_note(session: Session, ticket: Ticket, body: str) -> None:
    add_note(session, ticket, None, body, MAIL_ACTOR, signature=NOTE_SIGNATURE)


def _notify_assignee(
    session: Session, ctx: CommuneContext, ticket: Ticket, mail: ParsedMail
) -> None:
    agent = ticket.assignee
    if agent is None or not agent.email or not agent.active:
        return
    link = f"{ctx.config.commune.public_url.rstrip('/')}/{ctx.config.slug}/agent/tickets/" \
           f"{ticket.number}"
    body = (f"Bonjour,\n\nL'usager a répondu à la demande n° {ticket.number} "
            f"« {ticket.subject} », qui vous est affectée.\n\n"
            f"Objet du message : {mail.subject or '(sans objet)'}\n\n"
            f"Consulter la demande : {link}\n\n-- \nAiguillage\n")
    enqueue_mail(session, ticket.commune_id, "agent_notification", agent.email,
                 f"[{ticket.tracking_code}] Nouveau message sur la demande n° {ticket.number}",
                 body, ticket=ticket, signing_key=ctx.signing_key, domain=ctx.mail_domain)


def _sent_filter(commune_id: int, now: datetime) -> tuple:  # type: ignore[type-arg]
    return (OutboxMessage.commune_id == commune_id,
            OutboxMessage.kind.in_(("acknowledgement", "mail_rejected")),
            OutboxMessage.created_at >= now - timedelta(hours=1))


def _acks_last_hour(session: Session, commune_id: int, address: str, now: datetime) -> int:
    return int(session.scalar(select(func.count(OutboxMessage.id)).where(
        *_sent_filter(commune_id, now), OutboxMessage.to_address == address.lower())) or 0)


def _sort_files(ctx: CommuneContext, mail: ParsedMail) -> _Files:
    """Attachments the commune's rules accept, and a line for each one they refuse."""
    rules = ctx.config.commune.attachments
    files = _Files()
    for attachment in mail.attachments:
        incoming = IncomingFile(attachment.filename, attachment.data)
        if len(files.accepted) >= rules.max_files:
            files.refused.append(f"« {attachment.filename} » : {rules.max_files} fichier(s) "
                                 "au maximum.")
            continue
        try:
            check_files([incoming], rules)
        except AttachmentRejected as exc:
            files.refused.append(str(exc))
            continue
        files.accepted.append(incoming)
    return files


def _store_files(session: Session, ctx: CommuneContext, ticket: Ticket, entry: ThreadEntry,
                 files: list[IncomingFile]) -> None:
    types = check_files(files, ctx.config.commune.attachments) if files else []
    for file, content_type in zip(files, types, strict=True):
        session.add(Attachment(
            commune_id=ticket.commune_id, ticket=ticket, entry=entry, public_id=new_public_id(),
            filename=safe_filename(file.filename), content_type=content_type,
            size=len(file.data), sha256=store_bytes(ctx.attachments_dir, file.data)))


def _note_refused(session: Session, ticket: Ticket, files: _Files) -> None:
    if files.refused:
        _add_note(session, ticket, "Pièces jointes du courriel non retenues (le courriel "
                  "d'origine est conservé) :\n" + "\n".join(f"- {r}" for r in files.refused))


def split_name(display_name: str, address: str | None) -> tuple[str, str]:
    """Best-effort (first name, last name) from a From display name.

    "Camille Martin" → (Camille, Martin); "MARTIN Camille" → (Camille, MARTIN);
    "Martin, Camille" → (Camille, Martin); no name → ("", the address's local part).
    """
    name = " ".join(display_name.replace('"', " ").split())
    if "@" in name:  # a display name that is itself an address says nothing about the person
        name = ""
    if not name:
        local = (address or "").partition("@")[0]
        return "", local[:100] or "Inconnu"
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip()[:100], last.strip()[:100] or first.strip()[:100]
    words = name.split(" ")
    if len(words) == 1:
        return "", words[0][:100]
    upper = [w for w in words if w.isupper() and len(w) > 1]
    if upper and len(upper) < len(words):
        last = " ".join(upper)
        first = " ".join(w for w in words if w not in upper)
        return first[:100], last[:100]
    return words[0][:100], " ".join(words[1:])[:100]
