"""Queue mail in the outbox table, and drain it with retries (the scheduler's job)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.domain.message_ids import outgoing_message_id
from ticketing.models import OutboxMessage, OutboxStatus, Ticket, utcnow
from ticketing.operations.events import Actor, change_ticket, record_event

MAX_ATTEMPTS = 16  # with the 6-hour cap: about two days of outage before giving up
LOOP_HEADER = "X-Aiguillage-Loop"

Sender = Callable[[OutboxMessage], None]


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0


def enqueue_mail(
    session: Session,
    commune_id: int,
    kind: str,
    to_address: str,
    subject: str,
    body: str,
    ticket: Ticket | None = None,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    signing_key: bytes | None = None,
    domain: str | None = None,
) -> OutboxMessage:
    """Queue a mail; with a ticket and a ``signing_key`` it gets a signed Message-ID that
    lets a citizen's reply find its ticket again (see domain/message_ids.py)."""
    message_id = None
    if ticket is not None and signing_key:
        if ticket.id is None:
            session.flush()
        message_id = outgoing_message_id(
            commune_id, ticket.id, signing_key, domain or "aiguillage.localhost")
    message = OutboxMessage(
        commune_id=commune_id,
        ticket_id=ticket.id if ticket is not None else None,
        message_id=message_id,
        kind=kind,
        to_address=to_address,
        reply_to=reply_to,
        subject=subject,
        body_text=body,
        headers={LOOP_HEADER: "1", **(headers or {})},
        next_attempt_at=utcnow(),
    )
    session.add(message)
    return message


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, capped at 6 hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


def drain_outbox(
    session: Session, send: Sender, now: datetime | None = None, batch: int = 50
) -> DrainReport:
    """Send due messages one by one, committing after each, so a crash never resends many."""
    now = now or utcnow()
    report = DrainReport()
    due = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(batch)
        .with_for_update(skip_locked=True)  # PostgreSQL: two drainers never take one message
    ).all()
    for message in due:
        message.attempts += 1
        try:
            send(message)
        except Exception as exc:  # noqa: BLE001 - any failure of the mail server is retried
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxStatus.DEAD
                report.dead += 1
                _audit(session, message, "mail.failed")
            else:
                message.next_attempt_at = now + retry_delay(message.attempts)
                report.retried += 1
        else:
            message.status = OutboxStatus.SENT
            message.sent_at = utcnow()
            report.sent += 1
            _audit(session, message, "mail.sent")
            if message.kind == "acknowledgement" and message.ticket_id is not None:
                ticket = session.get(Ticket, message.ticket_id)
                if ticket is not None and ticket.acknowledged_at is None:
                    change_ticket(session, ticket, Actor.system(), "ticket.acknowledged",
                                  acknowledged_at=message.sent_at)
        session.commit()
    return report


def _audit(session: Session, message: OutboxMessage, action: str) -> None:
    ticket = session.get(Ticket, message.ticket_id) if message.ticket_id else None
    record_event(
        session, message.commune_id, Actor.system(), action, ticket,
        after={"kind": message.kind, "to": message.to_address, "attempts": message.attempts,
               **({"error": message.last_error} if action == "mail.failed" else {})},
    )
