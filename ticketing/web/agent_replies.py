"""The parapheur and the reply letters: validators' queue, visa, send back, edit, PDF letter.

Thin views over ``operations/drafts.py`` and ``operations/letters.py``. A validator sees the
drafts whose rule names a role they hold on the ticket's service; others get 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ticketing.config.schema import ValidationRule
from ticketing.models import (
    Attachment,
    DraftState,
    EntryKind,
    ReplyDraft,
    Status,
    ThreadEntry,
    Ticket,
)
from ticketing.operations.drafts import (
    DraftRefused,
    approve_draft,
    drafts_awaiting,
    drafts_returned_to,
    edit_draft,
    may_decide,
    open_draft,
    resubmit_draft,
    return_draft,
    validation_rule,
)
from ticketing.operations.events import Actor
from ticketing.operations.letters import PDF, produce_letter
from ticketing.web.agent import date_fr, datetime_fr
from ticketing.web.agent_forms import agent_status_label
from ticketing.web.agent_replies_forms import DraftEditForm, ResubmitForm, ReturnForm
from ticketing.web.auth import (
    check_ticket,
    current_agent,
    guard_agent_area,
    permissions_on_ticket,
    require,
)
from ticketing.web.extensions import db
from ticketing.web.postal_letters import letter_for_postal_reply
from ticketing.web.registry import current_commune, registry
from ticketing.web.themes import render_page

bp = Blueprint("agent_replies", __name__, url_prefix="/<commune>/agent")


@bp.before_request
def _guard() -> Any:
    return guard_agent_area()


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {"date_fr": date_fr, "datetime_fr": datetime_fr}


def _actor() -> Actor:
    return Actor.agent(current_agent(), request.remote_addr)


def may_validate_somewhere() -> bool:
    """Does the signed-in agent hold a role with "validate" (the nav's Parapheur link)?"""
    roles = current_commune().config.roles
    return any("validate" in roles[grant.role_code].permissions
               for grant in current_user.grants if grant.role_code in roles)


@dataclass
class ReplyPanel:
    """What the ticket page shows about the circuit and the letters of its replies."""

    rule: ValidationRule | None
    draft: ReplyDraft | None
    can_decide: bool
    is_author: bool
    resubmit_form: ResubmitForm | None
    can_produce_letter: bool
    letters: dict[int, list[Attachment]] = field(default_factory=dict)  # by reply entry id
    replies: list[ThreadEntry] = field(default_factory=list)


def reply_panel(ticket: Ticket) -> ReplyPanel:
    ctx = current_commune()
    allowed = permissions_on_ticket(ticket)
    draft = open_draft(db.session, ticket)
    agent = current_agent()
    is_author = draft is not None and draft.author_agent_id == agent.id
    form = None
    returned = draft is not None and draft.state == DraftState.RETURNED
    if returned and is_author and "reply" in allowed:
        form = ResubmitForm(formdata=None, subject=draft.subject, body=draft.body,
                            status=draft.status_after)
        form.limit_statuses(ticket.status, allowed)
    replies = [e for e in ticket.entries if e.kind == EntryKind.REPLY]
    letters: dict[int, list[Attachment]] = {}
    for attachment in ticket.attachments:
        if attachment.entry_id is not None and attachment.content_type == PDF:
            letters.setdefault(attachment.entry_id, []).append(attachment)
    return ReplyPanel(
        rule=validation_rule(ctx, ticket), draft=draft,
        can_decide=draft is not None and may_decide(ctx, draft, agent, current_user.grants),
        is_author=is_author, resubmit_form=form, can_produce_letter="reply" in allowed,
        letters=letters, replies=replies)


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    def parapheur_count() -> int | None:
        """Drafts awaiting the signed-in agent: to validate, or sent back to them to
        correct; None (no link) for an agent who validates nothing and has none back."""
        if not (g.get("commune") and current_user.is_authenticated):
            return None
        returned = len(drafts_returned_to(db.session, current_agent()))
        if not may_validate_somewhere():
            return returned or None
        return returned + len(drafts_awaiting(db.session, current_commune(), current_agent(),
                                              current_user.grants))

    def reply_needs_visa(ticket: Ticket) -> bool:
        return validation_rule(current_commune(), ticket) is not None

    return {"parapheur_count": parapheur_count, "reply_panel": reply_panel,
            "reply_needs_visa": reply_needs_visa}


# --- the validator's queue ---------------------------------------------------------------


@bp.get("/parapheur")
def validation_queue() -> str:
    ctx, agent = current_commune(), current_agent()
    return render_page(
        "agent/validation_queue.html",
        awaiting=drafts_awaiting(db.session, ctx, agent, current_user.grants),
        returned=drafts_returned_to(db.session, agent),
        may_validate=may_validate_somewhere(), status_label=agent_status_label,
        roles=ctx.config.roles)


def _draft(draft_id: int) -> ReplyDraft:
    """The draft, 404 if the agent may not view its ticket (or another commune's)."""
    draft = db.session.get(ReplyDraft, draft_id)
    if draft is None or draft.commune_id != current_commune().commune_id:
        abort(404)
    check_ticket(draft.ticket, "view")
    return draft


def _decider_only(draft: ReplyDraft) -> None:
    if not may_decide(current_commune(), draft, current_agent(), current_user.grants):
        abort(403)


def _draft_page(draft: ReplyDraft, edit_form: DraftEditForm | None = None,
                return_form: ReturnForm | None = None, status: int = 200) -> tuple[str, int]:
    return render_page(
        "agent/validation_draft.html", draft=draft, ticket=draft.ticket,
        service=current_commune().config.services.get(draft.ticket.service_code),
        role=current_commune().config.roles.get(draft.validator_role),
        edit_form=edit_form or DraftEditForm(formdata=None, subject=draft.subject,
                                             body=draft.body),
        return_form=return_form or ReturnForm(formdata=None),
        status_label=agent_status_label), status


@bp.get("/parapheur/<int:draft_id>")
def validation_draft(draft_id: int) -> Any:
    draft = _draft(draft_id)
    _decider_only(draft)
    return _draft_page(draft)


@bp.post("/parapheur/<int:draft_id>/visa")
def approve(draft_id: int) -> Any:
    """Save the validator's text, then, unless only saving was asked, give the visa."""
    draft = _draft(draft_id)
    _decider_only(draft)
    form = DraftEditForm()
    if not form.validate():
        return _draft_page(draft, edit_form=form, status=422)
    ctx, agent = current_commune(), current_agent()
    edited = edit_draft(db.session, ctx, draft, agent, current_user.grants,
                        form.subject.data or "", form.body.data or "", _actor())
    if request.form.get("action") == "save":
        db.session.commit()
        flash(_("Modifications enregistrées ; le projet attend toujours votre visa.")
              if edited else _("Aucune modification."), "success")
        return redirect(url_for(".validation_draft", draft_id=draft.id), 303)
    entry = approve_draft(db.session, ctx, draft, agent, current_user.grants, _actor())
    db.session.commit()
    if letter_for_postal_reply(entry) is not None:
        flash(_("Visa donné : la lettre PDF de la réponse de %(author)s est prête, à "
                "imprimer et poster.", author=draft.author.full_name), "success")
    else:
        flash(_("Visa donné : la réponse de %(author)s est envoyée à l'usager.",
                author=draft.author.full_name), "success")
    return redirect(url_for(".validation_queue"), 303)


@bp.post("/parapheur/<int:draft_id>/renvoi")
def send_back(draft_id: int) -> Any:
    draft = _draft(draft_id)
    _decider_only(draft)
    form = ReturnForm()
    if not form.validate():
        return _draft_page(draft, return_form=form, status=422)
    return_draft(db.session, current_commune(), draft, current_agent(), current_user.grants,
                 form.comment.data or "", _actor())
    db.session.commit()
    flash(_("Projet renvoyé à %(author)s avec votre commentaire.",
            author=draft.author.full_name), "success")
    return redirect(url_for(".validation_queue"), 303)


@bp.post("/parapheur/<int:draft_id>/correction")
def resubmit(draft_id: int) -> Any:
    """The author sends a corrected draft back into the parapheur."""
    draft = _draft(draft_id)
    allowed = check_ticket(draft.ticket, "reply")
    if draft.author_agent_id != current_agent().id or draft.state != DraftState.RETURNED:
        abort(403)
    form = ResubmitForm()
    form.limit_statuses(draft.ticket.status, allowed)
    if not form.validate():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("agent.ticket", number=draft.ticket.number, _anchor="parapheur"),
                        303)
    try:
        resubmit_draft(db.session, draft, current_agent(), form.subject.data or "",
                       form.body.data or "", Status(form.status.data), _actor())
    except DraftRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Projet corrigé et soumis à nouveau au visa."), "success")
    return redirect(url_for("agent.ticket", number=draft.ticket.number), 303)


# --- the PDF letter of a reply -----------------------------------------------------------


@bp.post("/tickets/<number>/reponses/<int:entry_id>/lettre")
@require("reply")
def letter(ticket: Ticket, entry_id: int) -> Response:
    entry = next((e for e in ticket.entries
                  if e.id == entry_id and e.kind == EntryKind.REPLY), None)
    if entry is None:
        abort(404)
    attachment = produce_letter(db.session, current_commune(), entry,
                                registry().settings.themes_dir, _actor())
    db.session.commit()
    flash(_("Lettre PDF produite : %(name)s, rangée dans les pièces jointes.",
            name=attachment.filename), "success")
    return redirect(url_for("agent.ticket", number=ticket.number, _anchor="reponses-courrier"),
                    303)

