"""The deadline jobs: a warning before the answer date, escalation steps after it, overdue
acknowledgements, coming implicit decisions, and a daily digest per agent and manager.

Idempotent: each mail is first recorded in ``notifications`` (unique per kind, ticket,
recipient and period) and queued in the outbox in the same transaction, so a job run
twice, or by two processes, sends nothing twice. Nobody hears of a ticket they may not
open: an agent must have "view" on the ticket's service; a manager's address from
services.yaml that matches no agent account is written to as configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ticketing.domain.deadlines import add_delay, local_date, open_days_between
from ticketing.domain.rights import Grant, permissions_on
from ticketing.mail_templates import format_date_fr
from ticketing.models import OPEN_STATUSES, Agent, Citizen, Notification, Ticket, utcnow
from ticketing.operations.context import CommuneContext
from ticketing.operations.deadlines import rule_of
from ticketing.operations.events import Actor, change_ticket
from ticketing.operations.outbox import enqueue_mail

JOBS_ACTOR = Actor.system("Relances automatiques")


@dataclass
class JobReport:
    warnings: int = 0
    escalations: int = 0
    ack_alerts: int = 0
    decision_alerts: int = 0
    digests: int = 0

    def total(self) -> int:
        return (self.warnings + self.escalations + self.ack_alerts + self.decision_alerts
                + self.digests)


@dataclass(frozen=True)
class Recipient:
    email: str
    agent: Agent | None = None  # None: a manager address with no account


@dataclass
class _Directory:
    """The commune's active agents, and who may hear of which ticket."""

    ctx: CommuneContext
    agents: list[Agent]
    by_email: dict[str, Agent] = field(init=False)

    def __post_init__(self) -> None:
        self.by_email = {a.email.lower(): a for a in self.agents}

    def may_view(self, recipient: Recipient, service: str) -> bool:
        if recipient.agent is None:
            return True
        grants = [Grant(m.service_code, m.role_code) for m in recipient.agent.memberships]
        return "view" in permissions_on(grants, self.ctx.config.roles, service)

    def managers(self, service: str) -> list[Recipient]:
        emails = self.ctx.config.services[service].managers if service in \
            self.ctx.config.services else []
        return [Recipient(e.lower(), self.by_email.get(e.lower())) for e in emails]

    def resolve(self, targets: Iterable[str], ticket: Ticket) -> list[Recipient]:
        """``assignee``, ``service_managers``, ``role:<code>`` → recipients who may view."""
        found: dict[str, Recipient] = {}
        for target in targets:
            if target == "assignee":
                agent = self.by_email.get((ticket.assignee.email if ticket.assignee else "")
                                          .lower())
                candidates = [Recipient(agent.email, agent)] if agent else []
            elif target == "service_managers":
                candidates = self.managers(ticket.service_code)
            else:
                role = target.removeprefix("role:")
                candidates = [Recipient(a.email, a) for a in self.agents
                              if any(m.role_code == role for m in a.memberships)]
            for recipient in candidates:
                if self.may_view(recipient, ticket.service_code):
                    found.setdefault(recipient.email, recipient)
        return list(found.values())


def run_deadline_jobs(
    session: Session, contexts: Iterable[CommuneContext], now: datetime | None = None
) -> JobReport:
    """Every deadline job for every commune, once; commits per commune."""
    now = now or utcnow()
    report = JobReport()
    for ctx in contexts:
        _run_for_commune(session, ctx, now, report)
        session.commit()
    return report


def _run_for_commune(session: Session, ctx: CommuneContext, now: datetime,
                     report: JobReport) -> None:
    today = local_date(now, ctx.timezone)
    directory = _Directory(ctx, list(session.scalars(
        select(Agent).where(Agent.commune_id == ctx.commune_id, Agent.active.is_(True)))))
    for ticket in _candidates(session, ctx, today):
        report.warnings += _warn(session, ctx, directory, ticket, today, now)
        report.escalations += _escalate(session, ctx, directory, ticket, today)
        report.ack_alerts += _ack_overdue(session, ctx, directory, ticket, today)
        report.decision_alerts += _decision_alert(session, ctx, directory, ticket, today)
    if now.astimezone(ZoneInfo(ctx.timezone)).hour >= ctx.config.deadlines.digest.hour:
        report.digests += _digests(session, ctx, directory, today)


def _candidates(session: Session, ctx: CommuneContext, today: date) -> list[Ticket]:
    """Open tickets some job may act on: due soon or late, decision near, not acknowledged."""
    rules = [*ctx.config.deadlines.rules, ctx.config.deadlines.default]
    # A bound wide enough for any warning (working days: weekends and holidays included).
    warn_days = max((r.warning_before.days for r in rules if r.warning_before), default=0)
    alert_days = ctx.config.deadlines.decision_alert_before.days
    return list(session.scalars(
        select(Ticket).join(Citizen, Ticket.citizen_id == Citizen.id)
        .where(Ticket.commune_id == ctx.commune_id, Ticket.status.in_(OPEN_STATUSES),
               or_(Ticket.answer_due_on <= today + timedelta(days=2 * warn_days + 10),
                   Ticket.decision_due_on <= today + timedelta(days=2 * alert_days + 10),
                   and_(Ticket.acknowledged_at.is_(None), Ticket.ack_due_on < today,
                        Citizen.email.is_not(None))))
        .order_by(Ticket.id)
    ).unique())


def _warn(session: Session, ctx: CommuneContext, directory: _Directory, ticket: Ticket,
          today: date, now: datetime) -> int:
    rule = rule_of(ctx.config, ticket)
    if rule.warning_before is None or ticket.warned_at is not None or ticket.clock_paused_at:
        return 0
    due = ticket.answer_due_on
    if due < today or open_days_between(today, due, rule.warning_before.unit,
                                        ctx.config.calendar) > rule.warning_before.days:
        return 0
    recipients = directory.resolve(["assignee"] if ticket.assignee_id else ["service_managers"],
                                   ticket)
    sent = sum(_notify(session, ctx, "deadline_warning", r, due.isoformat(), ticket,
                       f"Échéance proche : demande n° {ticket.number}",
                       "deadline_warning.txt", today=today) for r in recipients)
    change_ticket(session, ticket, JOBS_ACTOR, "deadline.warned", warned_at=now)
    return sent


def _escalate(session: Session, ctx: CommuneContext, directory: _Directory, ticket: Ticket,
              today: date) -> int:
    due = ticket.answer_due_on
    if ticket.clock_paused_at or today <= due:
        return 0
    steps = rule_of(ctx.config, ticket).escalation
    reached = sum(today >= add_delay(due, step.after, ctx.config.calendar, False)
                  for step in steps)
    sent = 0
    told: set[str] = set()  # steps reached at once: one mail each, at the highest level
    for level in range(reached, ticket.escalation_level, -1):
        step = steps[level - 1]
        for recipient in directory.resolve(step.notify, ticket):
            if recipient.email in told:
                continue
            told.add(recipient.email)
            sent += _notify(session, ctx, "escalation", recipient, f"{due.isoformat()}#{level}",
                            ticket, f"Relance n° {level} : demande n° {ticket.number} en retard",
                            "escalation.txt", today=today, level=level,
                            late_days=(today - due).days)
    if reached > ticket.escalation_level:
        change_ticket(session, ticket, JOBS_ACTOR, "deadline.escalated",
                      escalation_level=reached)
    return sent


def _ack_overdue(session: Session, ctx: CommuneContext, directory: _Directory, ticket: Ticket,
                 today: date) -> int:
    # Only requests whose acknowledgement goes by e-mail: the outbox dates it when sent.
    if ticket.acknowledged_at is not None or ticket.ack_due_on >= today \
            or not ticket.citizen.email:
        return 0
    return sum(_notify(session, ctx, "ack_overdue", r, ticket.ack_due_on.isoformat(), ticket,
                       f"Accusé de réception en retard : demande n° {ticket.number}",
                       "ack_overdue.txt", today=today)
               for r in directory.resolve(["service_managers"], ticket))


def _decision_alert(session: Session, ctx: CommuneContext, directory: _Directory,
                    ticket: Ticket, today: date) -> int:
    decision = ticket.decision_due_on
    alert = ctx.config.deadlines.decision_alert_before
    if decision is None or ticket.clock_paused_at \
            or open_days_between(today, decision, alert.unit, ctx.config.calendar) > alert.days:
        return 0
    category = ctx.config.categories.get(ticket.category_code or "")
    outcome = category.silence.outcome if category and category.silence else "rejection"
    return sum(_notify(session, ctx, "decision_alert", r, decision.isoformat(), ticket,
                       f"Décision implicite le {format_date_fr(decision)} : "
                       f"demande n° {ticket.number}", "decision_alert.txt", today=today,
                       outcome=outcome, days_left=(decision - today).days)
               for r in directory.resolve(["assignee", "service_managers"], ticket))


def _digests(session: Session, ctx: CommuneContext, directory: _Directory, today: date) -> int:
    """One mail a day per agent (their tickets) and per manager (their services' tickets)."""
    soon_days = ctx.config.deadlines.digest.soon_days
    soon = today + timedelta(days=soon_days)
    tickets = session.scalars(
        select(Ticket).where(Ticket.commune_id == ctx.commune_id,
                             Ticket.status.in_(OPEN_STATUSES), Ticket.answer_due_on <= soon)
        .order_by(Ticket.answer_due_on, Ticket.id)).unique().all()
    mine: dict[str, list[Ticket]] = {}
    managed: dict[str, list[Ticket]] = {}
    recipients: dict[str, Recipient] = {}
    for ticket in tickets:
        for r in directory.resolve(["assignee"], ticket):
            mine.setdefault(r.email, []).append(ticket)
            recipients[r.email] = r
        for r in directory.resolve(["service_managers"], ticket):
            managed.setdefault(r.email, []).append(ticket)
            recipients[r.email] = r
    sent = 0
    for email, recipient in sorted(recipients.items()):
        sent += _notify(session, ctx, "digest", recipient, today.isoformat(), None,
                        f"Demandes en retard ou à échéance proche — {format_date_fr(today)}",
                        "digest.txt", today=today, soon_days=soon_days,
                        mine=mine.get(email, []), managed=managed.get(email, []))
    return sent


def _notify(session: Session, ctx: CommuneContext, kind: str, recipient: Recipient,
            period_key: str, ticket: Ticket | None, subject: str, template: str,
            **variables: object) -> int:
    """Record the notification, then queue its mail; 0 if it was already sent."""
    key = str(ticket.id) if ticket is not None else ""
    already = session.scalar(select(Notification.id).where(
        Notification.commune_id == ctx.commune_id, Notification.kind == kind,
        Notification.ticket_key == key, Notification.recipient == recipient.email,
        Notification.period_key == period_key))
    if already is not None:
        return 0
    try:
        with session.begin_nested():  # another runner may have just written the same row
            session.add(Notification(commune_id=ctx.commune_id, ticket_id=ticket.id if ticket
                                     else None, ticket_key=key, kind=kind,
                                     recipient=recipient.email, period_key=period_key))
    except IntegrityError:
        return 0
    commune = ctx.config.commune
    body = ctx.mail_templates.render(
        template, commune=commune, ticket=ticket, recipient=recipient,
        service=ctx.config.services.get(ticket.service_code) if ticket else None,
        ticket_url=_agent_url(ctx, ticket.number) if ticket else "",
        agent_url=_agent_url(ctx, None), url_for_number=lambda n: _agent_url(ctx, n),
        **variables)
    enqueue_mail(session, ctx.commune_id, kind, recipient.email, subject, body, ticket=ticket,
                 headers={"Auto-Submitted": "auto-generated"})
    return 1


def _agent_url(ctx: CommuneContext, number: str | None) -> str:
    base = f"{ctx.config.commune.public_url.rstrip('/')}/{ctx.config.slug}/agent/"
    return f"{base}tickets/{number}" if number else base


__all__ = ["JobReport", "Recipient", "run_deadline_jobs"]
