"""Merging a duplicate into the ticket kept, and linking related tickets (both audited).

A merge keeps the number of the ticket kept: the duplicate's messages and attachments
move to it, the duplicate is closed and points to it (a ``merged`` link), both tickets'
histories say so (with the ids of the entries moved, so each citizen's own correspondence
can still be told apart), and the duplicate's citizen is told by e-mail. A "related" link
only records that two requests concern the same matter; it can be removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from ticketing.config import CommuneConfig
from ticketing.models import (
    Attachment,
    AuditEvent,
    LinkKind,
    Status,
    ThreadEntry,
    Ticket,
    TicketLink,
)
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, record_event
from ticketing.operations.outbox import enqueue_mail
from ticketing.operations.tickets import set_status

MAX_MERGE_HOPS = 5  # a kept ticket may be merged in turn; real chains are one or two long


class LinkRefused(ValueError):
    """The merge or link cannot be made; the message says why, in French."""


@dataclass(frozen=True)
class LinkedTicket:
    ticket: Ticket
    role: str  # "related", "merged_into" (this one was merged into it), "merged_from"


def merged_into(session: Session, ticket: Ticket) -> Ticket | None:
    """The ticket ``ticket`` was merged into, if it was."""
    return session.scalars(
        select(Ticket).join(TicketLink, TicketLink.other_ticket_id == Ticket.id)
        .where(TicketLink.ticket_id == ticket.id, TicketLink.kind == LinkKind.MERGED)
    ).first()


def surviving_ticket(session: Session, ticket: Ticket) -> Ticket:
    """The ticket that now handles ``ticket``'s request: ``ticket`` itself unless it was
    merged, else the end of its chain of merges (followed at most ``MAX_MERGE_HOPS`` links,
    never out of its commune)."""
    current = ticket
    for _ in range(MAX_MERGE_HOPS):
        target = merged_into(session, current)
        if target is None or target.commune_id != ticket.commune_id:
            break
        current = target
    return current


# A duplicate's citizen who writes again after the merge: their message goes to the ticket
# kept, and these two events (on the duplicate, on the ticket kept) record it as theirs.
REPLY_FORWARDED = "ticket.merged_reply_forwarded"
REPLY_RECEIVED = "ticket.merged_reply_received"


def entries_merged_in(session: Session, ticket: Ticket) -> set[int]:
    """Ids of the thread entries of ``ticket`` that belong to its duplicates' citizens: moved
    in by merges, or written by them afterwards."""
    return _moved_entry_ids(session, ticket, ("ticket.merged", REPLY_RECEIVED))


def entries_merged_out(session: Session, ticket: Ticket) -> set[int]:
    """Ids of the thread entries of ``ticket``'s citizen now on the ticket kept: moved by
    ``ticket``'s own merge, or written after it."""
    return _moved_entry_ids(session, ticket, ("ticket.merged_into", REPLY_FORWARDED))


def record_merged_reply(session: Session, duplicate: Ticket, kept: Ticket, entry: ThreadEntry,
                        actor: Actor) -> None:
    """Record that ``entry``, now on ``kept``, was written by ``duplicate``'s citizen."""
    if entry.id is None:
        session.flush()
    record_event(session, duplicate.commune_id, actor, REPLY_FORWARDED, duplicate,
                 after={"kept": kept.number, "entry_ids": [entry.id]})
    record_event(session, kept.commune_id, actor, REPLY_RECEIVED, kept,
                 after={"duplicate": duplicate.number, "entry_ids": [entry.id]})


def _moved_entry_ids(session: Session, ticket: Ticket, actions: tuple[str, ...]) -> set[int]:
    # The merge events are the lasting record of which entries moved (merges made before
    # the ids were recorded have none: nothing is known to have moved).
    details = session.scalars(select(AuditEvent.after).where(
        AuditEvent.commune_id == ticket.commune_id, AuditEvent.ticket_id == ticket.id,
        AuditEvent.action.in_(actions)))
    return {int(entry_id) for after in details for entry_id in (after or {}).get("entry_ids", [])}


def _between(first: Ticket, second: Ticket):  # type: ignore[no-untyped-def]
    return or_(
        and_(TicketLink.ticket_id == first.id, TicketLink.other_ticket_id == second.id),
        and_(TicketLink.ticket_id == second.id, TicketLink.other_ticket_id == first.id),
    )


def merge_tickets(
    session: Session,
    duplicate: Ticket,
    kept: Ticket,
    actor: Actor,
    commune: CommuneContext | CommuneConfig,
) -> None:
    """Merge ``duplicate`` into ``kept``; the caller commits.

    Given the ``CommuneContext``, the duplicate's citizen is sent a notice when they gave an
    e-mail address; a bare ``CommuneConfig`` (the older call) merges without telling them.
    """
    config = commune.config if isinstance(commune, CommuneContext) else commune
    _check_merge(session, duplicate, kept)
    # RETURNING: the ids recorded are exactly the rows moved, even if a mail just arrived.
    moved_ids = sorted(session.scalars(
        update(ThreadEntry).where(ThreadEntry.ticket_id == duplicate.id)
        .values(ticket_id=kept.id).returning(ThreadEntry.id)))
    moved_files = session.execute(
        update(Attachment).where(Attachment.ticket_id == duplicate.id)
        .values(ticket_id=kept.id)).rowcount
    session.execute(delete(TicketLink).where(_between(duplicate, kept)))
    session.add(TicketLink(commune_id=kept.commune_id, ticket_id=duplicate.id,
                           other_ticket_id=kept.id, kind=LinkKind.MERGED,
                           created_by_agent_id=actor.agent_id))
    session.expire(duplicate, ["entries", "attachments"])
    session.expire(kept, ["entries", "attachments"])
    if duplicate.status != Status.CLOSED:
        set_status(session, duplicate, Status.CLOSED, actor, config)
    moved = {"entries_moved": len(moved_ids), "attachments_moved": moved_files,
             "entry_ids": moved_ids}
    notified = (_queue_merge_notice(session, commune, duplicate, kept)
                if isinstance(commune, CommuneContext) else None)
    record_event(session, duplicate.commune_id, actor, "ticket.merged_into", duplicate,
                 after={"kept": kept.number, **moved,
                        **({"notice_to": notified} if notified else {})})
    record_event(session, kept.commune_id, actor, "ticket.merged", kept,
                 after={"duplicate": duplicate.number, **moved})
    session.flush()


def _check_merge(session: Session, duplicate: Ticket, kept: Ticket) -> None:
    if duplicate.id == kept.id:
        raise LinkRefused("Une demande ne peut pas être fusionnée avec elle-même.")
    if duplicate.commune_id != kept.commune_id:
        raise LinkRefused("Les deux demandes doivent être de la même commune.")
    if merged_into(session, duplicate) is not None:
        raise LinkRefused(f"La demande n° {duplicate.number} a déjà été fusionnée.")
    target = merged_into(session, kept)
    if target is not None:
        raise LinkRefused(f"La demande n° {kept.number} a été fusionnée dans la demande "
                          f"n° {target.number} : fusionnez plutôt dans celle-ci.")


def _queue_merge_notice(
    session: Session, ctx: CommuneContext, duplicate: Ticket, kept: Ticket
) -> str | None:
    """Tell the duplicate's citizen, if they gave an e-mail address, which number now
    handles their request; returns the address written to. Of the kept ticket the mail
    gives only its number, due date and service: nothing about its own citizen."""
    address = duplicate.citizen.email
    if not address:
        return None
    service = ctx.config.services[kept.service_code]
    body = ctx.mail_templates.render(
        "merged_notice.txt", ticket=duplicate, citizen=duplicate.citizen,
        kept_number=kept.number, answer_due=kept.answer_due_on, service=service,
        commune=ctx.config.commune, tracking_url=ctx.tracking_url())
    # Signed for the duplicate: a reply finds it, and the mail channel follows the merge.
    enqueue_mail(
        session, ctx.commune_id, "merged_notice", address,
        f"[{duplicate.tracking_code}] Votre demande n° {duplicate.number} a été regroupée "
        f"avec la demande n° {kept.number}",
        body, ticket=duplicate, reply_to=service.email,
        headers={"Auto-Submitted": "auto-generated"},
        signing_key=ctx.signing_key, domain=ctx.mail_domain)
    return address


def link_tickets(session: Session, first: Ticket, second: Ticket, actor: Actor) -> TicketLink:
    """Record that ``first`` and ``second`` concern the same matter; the caller commits."""
    if first.id == second.id:
        raise LinkRefused("Une demande ne peut pas être liée à elle-même.")
    if first.commune_id != second.commune_id:
        raise LinkRefused("Les deux demandes doivent être de la même commune.")
    if session.scalars(select(TicketLink.id).where(_between(first, second))).first():
        raise LinkRefused(f"Les demandes n° {first.number} et n° {second.number} sont déjà "
                          "liées.")
    low, high = sorted((first, second), key=lambda t: t.id)
    link = TicketLink(commune_id=first.commune_id, ticket_id=low.id, other_ticket_id=high.id,
                      kind=LinkKind.RELATED, created_by_agent_id=actor.agent_id)
    session.add(link)
    record_event(session, first.commune_id, actor, "ticket.linked", first,
                 after={"ticket": second.number})
    record_event(session, second.commune_id, actor, "ticket.linked", second,
                 after={"ticket": first.number})
    session.flush()
    return link


def unlink_tickets(session: Session, first: Ticket, second: Ticket, actor: Actor) -> None:
    """Remove the "related" link between two tickets; the caller commits."""
    link = session.scalars(select(TicketLink).where(
        _between(first, second), TicketLink.kind == LinkKind.RELATED)).first()
    if link is None:
        raise LinkRefused(f"Les demandes n° {first.number} et n° {second.number} ne sont pas "
                          "liées.")
    session.delete(link)
    record_event(session, first.commune_id, actor, "ticket.unlinked", first,
                 before={"ticket": second.number})
    record_event(session, second.commune_id, actor, "ticket.unlinked", second,
                 before={"ticket": first.number})
    session.flush()


def linked_tickets(session: Session, ticket: Ticket) -> list[LinkedTicket]:
    """Every ticket linked to ``ticket``, merges first, then by number."""
    links = list(session.scalars(select(TicketLink).where(
        or_(TicketLink.ticket_id == ticket.id, TicketLink.other_ticket_id == ticket.id))))
    others = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(
        [link.other_ticket_id if link.ticket_id == ticket.id else link.ticket_id
         for link in links])))}
    found = []
    for link in links:
        other_id = link.other_ticket_id if link.ticket_id == ticket.id else link.ticket_id
        if other_id not in others:
            continue
        if link.kind == LinkKind.MERGED:
            role = "merged_into" if link.ticket_id == ticket.id else "merged_from"
        else:
            role = "related"
        found.append(LinkedTicket(others[other_id], role))
    order = {"merged_into": 0, "merged_from": 1, "related": 2}
    return sorted(found, key=lambda lt: (order[lt.role], lt.ticket.number))
