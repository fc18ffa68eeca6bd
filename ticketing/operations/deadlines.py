"""A ticket's deadline clock: paused while waiting for the citizen, resumed on their answer,
and recomputed from the current rules only when an administrator asks (audited).

Counting a pause (documented rule, property-tested in tests/unit/test_deadline_properties.py):
``paused_days`` adds up the *calendar* days the clock stood still (resumption date minus
pause date, in the commune's time zone); the answer date is pushed back by the days of the
*rule's own unit* that fell inside the pause (``domain.deadlines.extend_for_pause``), so a
working-day delay is not stretched by the weekends of the pause, and the delay left when
the clock resumes is never shorter than when it stopped.

The implicit-decision date follows CRPA L114-5: when silence means acceptance, its delay
runs again in full from the citizen's answer (the missing pieces); when silence means
rejection, it is suspended for the days waited (the law says "for the delay given to the
citizen"; we count the days actually waited, which we know).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.config import CommuneConfig
from ticketing.config.schema import DeadlineRule
from ticketing.domain.deadlines import (
    compute_deadlines,
    extend_for_pause,
    local_date,
    select_rule,
    silence_date,
)
from ticketing.models import OPEN_STATUSES, AuditEvent, Status, Ticket, utcnow
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, change_ticket

PAUSED = "deadline.clock_paused"
RESUMED = "deadline.clock_resumed"
RECOMPUTED = "deadline.recomputed"


def pause_clock(
    session: Session, ticket: Ticket, actor: Actor, now: datetime | None = None
) -> AuditEvent | None:
    """Stop the clock (the ticket waits for the citizen); nothing if it already stands."""
    if ticket.clock_paused_at is not None:
        return None
    return change_ticket(session, ticket, actor, PAUSED, clock_paused_at=now or utcnow())


def resume_clock(
    session: Session, ticket: Ticket, actor: Actor, config: CommuneConfig,
    now: datetime | None = None,
) -> AuditEvent | None:
    """Restart the clock and push the due dates back; nothing if it was running.

    The mail channel calls this when a citizen answers.
    """
    if ticket.clock_paused_at is None:
        return None
    now = now or utcnow()
    tz = config.commune.timezone
    paused_on, resumed_on = local_date(ticket.clock_paused_at, tz), local_date(now, tz)
    rule = rule_of(config, ticket)
    answer_due = extend_for_pause(
        ticket.answer_due_on, paused_on, resumed_on, rule.answer.unit, config.calendar,
        config.deadlines.calendar.roll_forward_to_open_day)
    changes: dict[str, object] = {
        "clock_paused_at": None,
        "paused_days": ticket.paused_days + max((resumed_on - paused_on).days, 0),
        "answer_due_on": answer_due,
        "decision_due_on": _decision_after_pause(
            config, ticket, ticket.decision_due_on, paused_on, resumed_on),
    }
    if answer_due != ticket.answer_due_on:  # a new due date deserves its own warning
        changes.update(warned_at=None, escalation_level=0)
    event = change_ticket(session, ticket, actor, RESUMED, **changes)
    if event is not None:
        event.created_at = now  # the resumption moment, replayed by recompute_due_dates
    return event


def sync_clock(session: Session, ticket: Ticket, actor: Actor, config: CommuneConfig) -> None:
    """After a status change: the clock stands exactly while the ticket waits for the citizen."""
    if ticket.status == Status.WAITING_CITIZEN:
        pause_clock(session, ticket, actor)
    elif ticket.clock_paused_at is not None:
        resume_clock(session, ticket, actor, config)


def recompute_due_dates(
    session: Session, ctx: CommuneContext, actor: Actor, tickets: Iterable[Ticket] | None = None
) -> list[Ticket]:
    """Recompute due dates from the current rules (the open tickets by default).

    Changing the YAML never rewrites existing due dates by itself: only this
    administrator command does, with one "deadline.recomputed" event per ticket
    changed. Pauses already over are replayed from the audit trail. Returns the
    tickets whose dates changed; the caller commits.
    """
    config, tz = ctx.config, ctx.timezone
    if tickets is None:
        tickets = session.scalars(
            select(Ticket)
            .where(Ticket.commune_id == ctx.commune_id, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.id)
        ).all()
    changed = []
    for ticket in tickets:
        category = config.categories.get(ticket.category_code or "")
        kind = category.kind if category else None
        rule = select_rule(config.deadlines, ticket.channel, ticket.category_code, kind)
        base = compute_deadlines(config.deadlines, config.calendar, tz, ticket.channel,
                                 ticket.category_code, ticket.received_at, ticket.sent_on,
                                 kind=kind)
        received_on = local_date(ticket.received_at, tz)
        answer_due = base.answer_due
        decision_due = (silence_date(received_on, category.silence.months)
                        if category is not None and category.silence is not None else None)
        for paused_on, resumed_on in _pauses(session, ticket, tz):
            answer_due = extend_for_pause(
                answer_due, paused_on, resumed_on, rule.answer.unit, config.calendar,
                config.deadlines.calendar.roll_forward_to_open_day)
            decision_due = _decision_after_pause(config, ticket, decision_due, paused_on,
                                                 resumed_on)
        changes: dict[str, object] = {
            "deadline_rule": base.rule_name, "ack_due_on": base.acknowledgement_due,
            "answer_due_on": answer_due, "decision_due_on": decision_due,
        }
        if answer_due != ticket.answer_due_on:
            changes.update(warned_at=None, escalation_level=0)
        if change_ticket(session, ticket, actor, RECOMPUTED, **changes) is not None:
            changed.append(ticket)
    return changed


def rule_of(config: CommuneConfig, ticket: Ticket) -> DeadlineRule:
    """The rule that dated ``ticket`` (by its recorded name), else the one that would now."""
    for rule in (*config.deadlines.rules, config.deadlines.default):
        if rule.name == ticket.deadline_rule:
            return rule
    category = config.categories.get(ticket.category_code or "")
    return select_rule(config.deadlines, ticket.channel, ticket.category_code,
                       category.kind if category else None)


def _decision_after_pause(
    config: CommuneConfig, ticket: Ticket, decision_due: date | None, paused_on: date,
    resumed_on: date,
) -> date | None:
    category = config.categories.get(ticket.category_code or "")
    if decision_due is None or category is None or category.silence is None:
        return decision_due
    if category.silence.outcome == "acceptance":  # L114-5: runs from the missing pieces
        return max(decision_due, silence_date(resumed_on, category.silence.months))
    return decision_due + timedelta(days=max((resumed_on - paused_on).days, 0))


def _pauses(session: Session, ticket: Ticket, tz: str) -> list[tuple[date, date]]:
    """Pauses already over, as (paused on, resumed on) local dates, from the audit trail."""
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.ticket_id == ticket.id, AuditEvent.action == RESUMED)
        .order_by(AuditEvent.id)
    ).all()
    pauses = []
    for event in events:
        paused_at = event.before.get("clock_paused_at")
        if paused_at:
            pauses.append((local_date(datetime.fromisoformat(paused_at), tz),
                           local_date(event.created_at, tz)))
    return pauses
