"""The parapheur: replies that need a visa wait as drafts until a validator approves them.

A draft is submitted by its author, edited or sent back with a comment by a validator,
resubmitted by its author, and finally approved, which sends it through the ordinary reply
use case under the author's name (CRPA L111-2). Every step writes an audit event.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketing.config.schema import ValidationRule
from ticketing.domain.rights import Grant
from ticketing.domain.validation import may_validate, rule_for_reply
from ticketing.models import (
    OPEN_DRAFT_STATES,
    Agent,
    DraftState,
    ReplyDraft,
    Status,
    ThreadEntry,
    Ticket,
    utcnow,
)
from ticketing.operations.context import CommuneContext
from ticketing.operations.events import Actor, change_ticket, record_event
from ticketing.operations.outbox import enqueue_mail
from ticketing.operations.tickets import STATUS_AFTER_REPLY, reply_to_citizen


class DraftRefused(ValueError):
    """The step is not allowed now or not by this agent; the message is for the agent."""


def validation_rule(ctx: CommuneContext, ticket: Ticket) -> ValidationRule | None:
    """The rule of validation.yaml asking for a visa on replies to ``ticket``, if any."""
    category = ctx.config.categories.get(ticket.category_code or "")
    return rule_for_reply(ctx.config.validation_rules, ticket.service_code,
                          ticket.category_code, ticket.channel,
                          category.kind if category else None)


def open_draft(session: Session, ticket: Ticket) -> ReplyDraft | None:
    """The draft of ``ticket`` still in the circuit (pending or sent back), if any."""
    return session.scalars(select(ReplyDraft).where(
        ReplyDraft.ticket_id == ticket.id, ReplyDraft.state.in_(OPEN_DRAFT_STATES))
        .order_by(ReplyDraft.id.desc()).limit(1)).first()


def submit_reply(
    session: Session, ctx: CommuneContext, ticket: Ticket, author: Agent, subject: str,
    body: str, status_after: Status, actor: Actor,
) -> ThreadEntry | ReplyDraft:
    """Send the reply now, or, when a rule asks for a visa, put it in the parapheur."""
    rule = validation_rule(ctx, ticket)
    if rule is None:
        return reply_to_citizen(session, ctx, ticket, author, body, actor, subject=subject,
                                new_status=status_after)
    if status_after not in STATUS_AFTER_REPLY:
        raise ValueError(f"status {status_after} cannot follow a reply")
    if open_draft(session, ticket) is not None:
        raise DraftRefused("Une réponse à cette demande est déjà dans le parapheur.")
    draft = ReplyDraft(
        commune_id=ticket.commune_id, ticket=ticket, author_agent_id=author.id,
        subject=_one_line(subject), body=body.strip(), status_after=status_after,
        state=DraftState.PENDING, rule_name=rule.name, validator_role=rule.role,
        allow_author=rule.allow_author, comment="", submitted_at=utcnow(),
    )
    session.add(draft)
    record_event(session, ticket.commune_id, actor, "reply.submitted", ticket,
                 after={"rule": rule.name, "role": rule.role, "subject": draft.subject,
                        "length": len(draft.body)})
    if ticket.status == Status.NEW:  # being answered: no longer untouched in the queue
        change_ticket(session, ticket, actor, "ticket.status_changed",
                      status=Status.IN_PROGRESS)
    return draft


def resubmit_draft(
    session: Session, draft: ReplyDraft, author: Agent, subject: str, body: str,
    status_after: Status, actor: Actor,
) -> None:
    """The author corrects a draft sent back to them and puts it in the parapheur again."""
    if draft.state != DraftState.RETURNED:
        raise DraftRefused("Ce projet n'a pas été renvoyé : il ne peut pas être soumis à nouveau.")
    if draft.author_agent_id != author.id:
        raise DraftRefused("Seul l'auteur du projet peut le soumettre à nouveau.")
    if status_after not in STATUS_AFTER_REPLY:
        raise ValueError(f"status {status_after} cannot follow a reply")
    before = _content(draft)
    draft.subject, draft.body = _one_line(subject), body.strip()
    draft.status_after, draft.state = status_after, DraftState.PENDING
    draft.submitted_at = utcnow()
    record_event(session, draft.commune_id, actor, "reply.resubmitted", draft.ticket,
                 before=before, after=_content(draft))


def may_decide(ctx: CommuneContext, draft: ReplyDraft, agent: Agent,
               grants: Iterable[Grant]) -> bool:
    """May ``agent`` edit, send back or approve ``draft``?"""
    return draft.state == DraftState.PENDING and may_validate(
        grants, ctx.config.roles, draft.validator_role, draft.ticket.service_code,
        draft.allow_author, is_author=draft.author_agent_id == agent.id)


def _check_validator(ctx: CommuneContext, draft: ReplyDraft, agent: Agent,
                     grants: Iterable[Grant]) -> None:
    if draft.state != DraftState.PENDING:
        raise DraftRefused("Ce projet n'attend plus de visa.")
    if not may_decide(ctx, draft, agent, grants):
        if draft.author_agent_id == agent.id and not draft.allow_author:
            raise DraftRefused("Vous ne pouvez pas viser votre propre projet de réponse.")
        raise DraftRefused("Ce projet attend le visa d'un autre rôle.")


def _one_line(subject: str) -> str:
    return " ".join(subject.split())[:300]


def _content(draft: ReplyDraft) -> dict[str, object]:
    return {"subject": draft.subject, "length": len(draft.body), "status": draft.status_after}


def edit_draft(
    session: Session, ctx: CommuneContext, draft: ReplyDraft, validator: Agent,
    grants: Iterable[Grant], subject: str, body: str, actor: Actor,
) -> bool:
    """The validator corrects the draft without deciding yet; False if nothing changed."""
    _check_validator(ctx, draft, validator, grants)
    subject, body = _one_line(subject), body.strip()
    if (subject, body) == (draft.subject, draft.body):
        return False
    before = _content(draft)
    draft.subject, draft.body = subject, body
    record_event(session, draft.commune_id, actor, "reply.edited", draft.ticket,
                 before=before, after=_content(draft))
    return True


def return_draft(
    session: Session, ctx: CommuneContext, draft: ReplyDraft, validator: Agent,
    grants: Iterable[Grant], comment: str, actor: Actor,
) -> None:
    """Send the draft back to its author with the validator's comment."""
    _check_validator(ctx, draft, validator, grants)
    comment = comment.strip()
    if not comment:
        raise DraftRefused("Dites à l'auteur ce qu'il faut changer.")
    draft.state, draft.comment = DraftState.RETURNED, comment
    draft.decided_by_id, draft.decided_at = validator.id, utcnow()
    record_event(session, draft.commune_id, actor, "reply.returned", draft.ticket,
                 after={"comment": comment, "author": draft.author.full_name})
    ticket, author = draft.ticket, draft.author
    enqueue_mail(session, draft.commune_id, "draft_returned", author.email,
                 f"Projet de réponse renvoyé : demande n° {ticket.number}",
                 ctx.mail_templates.render(
                     "draft_returned.txt", ticket=ticket, author=author, validator=validator,
                     comment=comment, commune=ctx.config.commune,
                     ticket_url=agent_ticket_url(ctx, ticket.number)))


def agent_ticket_url(ctx: CommuneContext, number: str) -> str:
    return f"{ctx.config.commune.public_url.rstrip('/')}/{ctx.config.slug}/agent/tickets/{number}"


def approve_draft(
    session: Session, ctx: CommuneContext, draft: ReplyDraft, validator: Agent,
    grants: Iterable[Grant], actor: Actor,
) -> ThreadEntry:
    """Give the visa: the reply goes out under its author's name and signature."""
    _check_validator(ctx, draft, validator, grants)
    record_event(session, draft.commune_id, actor, "reply.approved", draft.ticket,
                 after={"author": draft.author.full_name, "role": draft.validator_role})
    entry = reply_to_citizen(session, ctx, draft.ticket, draft.author, draft.body, actor,
                             subject=draft.subject, new_status=Status(draft.status_after))
    draft.state, draft.entry = DraftState.SENT, entry
    draft.decided_by_id, draft.decided_at = validator.id, utcnow()
    return entry


def drafts_awaiting(
    session: Session, ctx: CommuneContext, agent: Agent, grants: Iterable[Grant]
) -> list[ReplyDraft]:
    """The pending drafts ``agent`` may decide on, oldest first (their parapheur)."""
    grants = list(grants)
    pending = session.scalars(select(ReplyDraft).where(ReplyDraft.state == DraftState.PENDING)
                              .order_by(ReplyDraft.submitted_at, ReplyDraft.id)).all()
    return [d for d in pending if may_decide(ctx, d, agent, grants)]


def drafts_returned_to(session: Session, agent: Agent) -> list[ReplyDraft]:
    """The author's drafts sent back to them, waiting for a correction."""
    return list(session.scalars(select(ReplyDraft).where(
        ReplyDraft.state == DraftState.RETURNED, ReplyDraft.author_agent_id == agent.id)
        .order_by(ReplyDraft.decided_at)).all())
