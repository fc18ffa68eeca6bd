"""Dispatch and collaboration on the agent side: the triage queue, qualify and dispatch,
split, assign, transfer, copies for information, forwarding to another administration,
reopen, notes that mention colleagues, and the collision warning (thin views)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, select
from werkzeug.wrappers import Response

from ticketing.domain.rights import permissions_on
from ticketing.models import OPEN_STATUSES, AuditEvent, Forwarding, Status, ThreadEntry, Ticket
from ticketing.operations import dispatch as ops
from ticketing.operations.events import Actor
from ticketing.web.agent_forms import agent_status_label
from ticketing.web.auth import (
    current_agent,
    guard_agent_area,
    permissions_on_ticket,
    require,
)
from ticketing.web.dispatch_forms import (
    NOBODY,
    AssignForm,
    CopyForm,
    DispatchForm,
    ForwardForm,
    MentionNoteForm,
    ReopenForm,
    SplitForm,
    TransferForm,
    VersionedForm,
)
from ticketing.web.extensions import db
from ticketing.web.labels import channel_label
from ticketing.web.paging import page_number, paginate
from ticketing.web.queries import copied_services, ticket_version
from ticketing.web.registry import current_commune
from ticketing.web.themes import render_page

bp = Blueprint("agent_dispatch", __name__, url_prefix="/<commune>/agent")

TRIAGE_PERMISSION = "transfer"


@bp.before_request
def _guard() -> Any:
    return guard_agent_area()


def _actor() -> Actor:
    return Actor.agent(current_agent(), request.remote_addr)


def _back_to(ticket: Ticket) -> Response:
    return redirect(url_for("agent.ticket", number=ticket.number), 303)


def can_triage() -> bool:
    """May the signed-in agent dispatch the triage service's tickets?"""
    if not current_user.is_authenticated:
        return False
    config = current_commune().config
    return TRIAGE_PERMISSION in permissions_on(current_user.grants, config.roles,
                                               config.commune.triage_service)


# --- what the ticket page's slots show (the page is rendered by the agent blueprint) ---


def _versioned(form: VersionedForm, ticket: Ticket) -> VersionedForm:
    form.version.data = ticket_version(db.session, ticket)
    return form


def _assignees(ticket: Ticket) -> list[tuple[int, str]]:
    return [(a.id, a.full_name)
            for a in ops.assignable_agents(db.session, current_commune(), ticket)]


def _mentionable(ticket: Ticket, copied: set[str]) -> list[tuple[int, str]]:
    return [(a.id, f"{a.full_name} (@{ops.handle_of(a)})") for a in ops.mention_candidates(
        db.session, current_commune(), ticket, copied, current_agent().id)]


def dispatch_panel(ticket: Ticket, **forms: VersionedForm) -> dict[str, Any]:
    """The dispatch forms the agent may use on ``ticket`` (given ``forms`` kept as posted)."""
    config = current_commune().config
    allowed = permissions_on_ticket(ticket)
    copied = copied_services(db.session, ticket)
    is_open = ticket.is_open
    panel: dict[str, Any] = {"ticket": ticket, "services": config.services}
    if is_open and "transfer" in allowed and ticket.service_code == config.commune.triage_service:
        panel["dispatch"] = forms.get("dispatch") or DispatchForm(
            formdata=None, category=ticket.category_code or "",
            service=ticket.service_code).offer(config)
    if is_open and "transfer" in allowed:
        panel["transfer"] = forms.get("transfer") or TransferForm(formdata=None).offer(
            config, ticket.service_code)
        panel["split"] = forms.get("split") or SplitForm(formdata=None).offer(config)
    if is_open and "assign" in allowed:
        panel["assign"] = forms.get("assign") or AssignForm(
            formdata=None, agent=str(ticket.assignee_id or NOBODY)).offer(_assignees(ticket))
    if "copy" in allowed:
        form = forms.get("copy") or CopyForm(formdata=None).offer(
            config, ticket.service_code, copied)
        if form.services.choices:
            panel["copy"] = form
    if "copy" in allowed and copied:
        panel["uncopy"] = sorted(copied)
    if is_open and "forward" in allowed:
        panel["forward"] = forms.get("forward") or ForwardForm(formdata=None)
    if ticket.status == Status.CLOSED and "reopen" in allowed:
        panel["reopen"] = forms.get("reopen") or ReopenForm(formdata=None)
    if "note" in allowed:
        panel["mention"] = forms.get("mention") or MentionNoteForm(formdata=None).offer(
            _mentionable(ticket, copied))
    for key in ("dispatch", "transfer", "split", "assign", "copy", "forward", "reopen",
                "mention"):
        if key in panel and not panel[key].version.data:
            _versioned(panel[key], ticket)
    return panel


def dispatch_banner(ticket: Ticket) -> dict[str, Any]:
    """What the banner says: copy for information, other viewers, forwarding, split links."""
    config = current_commune().config
    agent = current_agent()
    copied = copied_services(db.session, ticket)
    own = permissions_on(current_user.grants, config.roles, ticket.service_code)
    source, parts = ops.split_links(db.session, ticket)
    forwarding = db.session.query(Forwarding).filter(Forwarding.ticket_id == ticket.id) \
        .order_by(Forwarding.id.desc()).first()
    return {
        "read_only_copy": "view" not in own,
        "copies": [config.services[c].name if c in config.services else c
                   for c in sorted(copied)],
        "viewers": [a.full_name for a in ops.other_viewers(db.session, ticket, agent.id)],
        "forwarding": forwarding, "split_source": source, "split_parts": parts,
    }


@bp.context_processor
def _page_helpers() -> dict[str, Callable[..., Any]]:
    return {"channel_label": channel_label}


@bp.app_context_processor
def _slot_helpers() -> dict[str, Callable[..., Any]]:
    return {"dispatch_panel": dispatch_panel, "dispatch_banner": dispatch_banner,
            "can_triage": can_triage}


# --- history lines ---------------------------------------------------------------------


def dispatch_detail(event: AuditEvent) -> str:
    """The detail of a dispatch event in the ticket's history ("" for other events)."""
    config = current_commune().config
    before, after = event.before or {}, event.after or {}

    def service(code: str | None) -> str:
        return config.services[code].name if code in config.services else (code or "—")

    def category(code: str | None) -> str:
        found = config.categories.get(code or "")
        return found.label if found else (code or _("non qualifiée"))

    parts: list[str] = []
    if event.action in ("ticket.transferred", "ticket.dispatched") and "service_code" in after:
        parts.append(f"{service(before.get('service_code'))} → {service(after['service_code'])}")
    elif event.action == "ticket.qualified":
        parts.append(f"{category(before.get('category_code'))} → "
                     f"{category(after.get('category_code'))}")
    elif event.action == "ticket.copied":
        parts.append(", ".join(service(s) for s in after.get("services", [])))
    elif event.action == "ticket.copy_removed":
        parts.append(", ".join(service(s) for s in before.get("services", [])))
    elif event.action == "ticket.forwarded":
        parts.append(after.get("administration", ""))
    elif event.action == "ticket.split":
        parts.append(_("nouvelle demande n° %(number)s", number=after.get("part", "")))
    elif event.action == "ticket.split_from":
        parts.append(_("demande d'origine n° %(number)s", number=after.get("source", "")))
    elif event.action == "ticket.mentioned":
        parts.append(", ".join(after.get("agents", [])))
    elif after.get("reopened"):
        parts.append(_("réouverture : %(old)s → %(new)s",
                       old=agent_status_label(before.get("status", "")),
                       new=agent_status_label(after.get("status", ""))))
    if after.get("reason"):
        parts.append(_("motif : %(reason)s", reason=after["reason"]))
    if after.get("notified"):
        parts.append(_("service prévenu à %(address)s", address=after["notified"]))
    return " — ".join(p for p in parts if p)


# --- the triage queue ------------------------------------------------------------------


def triage_statement(commune_id: int, triage_service: str) -> Select[tuple[Ticket]]:
    """The triage service's open tickets still to qualify or dispatch, oldest due first."""
    return (select(Ticket)
            .where(Ticket.commune_id == commune_id, Ticket.service_code == triage_service,
                   Ticket.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(Ticket.answer_due_on, Ticket.id))


@bp.get("/a-trier")
def triage() -> str:
    if not can_triage():
        abort(403)
    ctx = current_commune()
    page = paginate(db.session, triage_statement(ctx.commune_id,
                                                 ctx.config.commune.triage_service),
                    page_number(request.args))
    rows = [(t, _versioned(DispatchForm(formdata=None, category=t.category_code or "",
                                        service=t.service_code).offer(ctx.config, f"tri-{t.id}"),
                           t)) for t in page.items]
    return render_page("agent/triage.html", rows=rows, page=page, config=ctx.config,
                       triage_service=ctx.config.services[ctx.config.commune.triage_service])


# --- the actions -----------------------------------------------------------------------


def _stale(form: VersionedForm, ticket: Ticket) -> bool:
    return (form.version.data or "") != ticket_version(db.session, ticket)


def _action_page(ticket: Ticket, action: str, form: VersionedForm, status: int,
                 stale: bool = False) -> tuple[str, int]:
    """The one form again: with its errors (422), or because the ticket changed (409)."""
    if stale:
        _versioned(form, ticket)  # sending it again applies it to what the agent now sees
    page = render_page("agent/dispatch_action.html", ticket=ticket, action=action, form=form,
                       stale=stale, panel={"ticket": ticket,
                                           "services": current_commune().config.services})
    return page, status


def _run(ticket: Ticket, action: str, form: VersionedForm,
         apply: Callable[[], str], field_of: Callable[[str], Any] | None = None) -> Any:
    """Validate, refuse a stale version, apply, commit, flash; or show the form again."""
    if not form.validate():
        return _action_page(ticket, action, form, 422)
    if _stale(form, ticket):
        return _action_page(ticket, action, form, 409, stale=True)
    try:
        message = apply()
    except ops.DispatchRejected as exc:
        db.session.rollback()
        target = getattr(form, exc.field, None) if field_of is None else field_of(exc.field)
        if target is None:
            target = form.version
        target.errors = [*target.errors, str(exc)]
        return _action_page(ticket, action, form, 422)
    db.session.commit()
    flash(message, "success")
    return None


@bp.post("/tickets/<number>/orienter")
@require(TRIAGE_PERMISSION)
def dispatch(ticket: Ticket) -> Any:
    ctx = current_commune()
    form = DispatchForm().offer(ctx.config)
    from_triage = request.form.get("depuis") == "tri"

    def apply() -> str:
        before = ticket.service_code
        ops.dispatch(db.session, ctx, ticket, form.service.data or "",
                     form.category.data or None, _actor())
        if ticket.service_code == before:
            return _("Demande n° %(number)s qualifiée ; elle reste à trier.",
                     number=ticket.number)
        return _("Demande n° %(number)s orientée vers : %(service)s.", number=ticket.number,
                 service=ctx.config.services[ticket.service_code].name)

    refused = _run(ticket, "dispatch", form, apply)
    if refused is not None:
        return refused
    if from_triage:  # back to the page of the queue the agent was working through
        number = page_number(request.form)
        return redirect(url_for(".triage", page=number if number > 1 else None), 303)
    return _back_to(ticket) if "view" in permissions_on_ticket(ticket) else redirect(
        url_for(".triage" if can_triage() else "agent.queue"), 303)


@bp.post("/tickets/<number>/transfert")
@require("transfer")
def transfer(ticket: Ticket) -> Any:
    ctx = current_commune()
    form = TransferForm().offer(ctx.config, ticket.service_code)

    def apply() -> str:
        ops.transfer(db.session, ctx, ticket, form.service.data or "", form.reason.data or "",
                     _actor())
        return _("Demande transférée au service : %(service)s.",
                 service=ctx.config.services[ticket.service_code].name)

    refused = _run(ticket, "transfer", form, apply)
    if refused is not None:
        return refused
    if "view" in permissions_on_ticket(ticket):
        return _back_to(ticket)
    return redirect(url_for("agent.queue"), 303)  # it left the agent's queues


@bp.post("/tickets/<number>/affectation")
@require("assign")
def assign(ticket: Ticket) -> Any:
    ctx = current_commune()
    form = AssignForm().offer(_assignees(ticket))

    def apply() -> str:
        chosen = form.agent.data or NOBODY
        agent = ops.assign_to(db.session, ctx, ticket, int(chosen) if chosen else None,
                              _actor())
        if agent is None:
            return _("La demande n'est plus confiée à personne.")
        return _("Demande confiée à %(name)s.", name=agent.full_name)

    return _run(ticket, "assign", form, apply) or _back_to(ticket)


@bp.post("/tickets/<number>/copie")
@require("copy")
def copy(ticket: Ticket) -> Any:
    ctx = current_commune()
    form = CopyForm().offer(ctx.config, ticket.service_code, copied_services(db.session, ticket))

    def apply() -> str:
        added = ops.copy_to(db.session, ctx, ticket, form.services.data or [], _actor())
        names = ", ".join(ctx.config.services[s].name for s in added)
        return _("Copie pour information à : %(services)s.", services=names or "—")

    return _run(ticket, "copy", form, apply) or _back_to(ticket)


@bp.post("/tickets/<number>/copie/retirer")
@require("copy")
def uncopy(ticket: Ticket) -> Response:
    form = VersionedForm()
    if not form.validate():
        abort(400)
    if ops.remove_copy(db.session, ticket, request.form.get("service", ""), _actor()):
        db.session.commit()
        flash(_("Copie retirée."), "success")
    return _back_to(ticket)


@bp.post("/tickets/<number>/transmission")
@require("forward")
def forward(ticket: Ticket) -> Any:
    ctx = current_commune()
    form = ForwardForm()

    def apply() -> str:
        ops.forward(db.session, ctx, ticket, ops.Administration(
            form.administration.data or "", form.address.data or "", form.email.data or ""),
            form.reason.data or "", _actor())
        if ticket.citizen.email:
            return _("Demande transmise à %(name)s et close ; l'usager en est informé par "
                     "courriel.", name=form.administration.data)
        return _("Demande transmise à %(name)s et close. L'usager n'a pas d'adresse "
                 "électronique : informez-le par courrier.", name=form.administration.data)

    return _run(ticket, "forward", form, apply) or _back_to(ticket)


@bp.post("/tickets/<number>/scission")
@require("transfer")
def split(ticket: Ticket) -> Any:
    ctx = current_commune()
    form = SplitForm().offer(ctx.config)
    created: list[Ticket] = []

    def apply() -> str:
        created.append(ops.split(db.session, ctx, ticket, form.subject.data or "",
                                 form.description.data or "", form.category.data or None,
                                 form.service.data or None, _actor()))
        return _("Nouvelle demande n° %(number)s créée à partir de celle-ci.",
                 number=created[0].number)

    return _run(ticket, "split", form, apply) or _back_to(ticket)


@bp.post("/tickets/<number>/reouverture")
@require("reopen")
def reopen(ticket: Ticket) -> Any:
    ctx = current_commune()
    form = ReopenForm()

    def apply() -> str:
        ops.reopen(db.session, ctx, ticket, form.reason.data or "", _actor())
        return _("Demande rouverte.")

    return _run(ticket, "reopen", form, apply) or _back_to(ticket)


@bp.post("/tickets/<number>/note-mention")
@require("note")
def mention(ticket: Ticket) -> Any:
    ctx = current_commune()
    copied = copied_services(db.session, ticket)
    form = MentionNoteForm().offer(_mentionable(ticket, copied))
    outcomes: list[ops.NoteOutcome] = []

    def apply() -> str:
        outcomes.append(ops.note_with_mentions(
            db.session, ctx, ticket, current_agent(), form.body.data or "",
            set(form.agents.data or []), copied, _actor()))
        notified = ", ".join(a.full_name for a in outcomes[0].notified)
        return (_("Note enregistrée ; prévenu(e)s : %(names)s.", names=notified) if notified
                else _("Note interne enregistrée."))

    refused = _run(ticket, "mention", form, apply)
    if refused is not None:
        return refused
    _flash_not_told(outcomes[0])
    return _back_to(ticket)


def _flash_not_told(outcome: ops.NoteOutcome) -> None:
    if outcome.not_allowed:
        flash(_("Non prévenu(e)s, faute d'accès à cette demande : %(names)s.",
                names=", ".join(a.full_name for a in outcome.not_allowed)), "info")


def notify_mentioned(ticket: Ticket, entry: ThreadEntry) -> None:
    """For the plain note form (agent.note): tell the colleagues the note mentions by
    ``@prenom.nom``; the caller commits."""
    outcome = ops.notify_mentions(db.session, current_commune(), ticket, current_agent(), entry,
                                  (), copied_services(db.session, ticket), _actor())
    if outcome.notified:
        flash(_("Prévenu(e)s : %(names)s.",
                names=", ".join(a.full_name for a in outcome.notified)), "success")
    _flash_not_told(outcome)


@bp.post("/tickets/<number>/consultation")
@require("view")
def viewing(ticket: Ticket) -> Response:
    """Called by dispatch.js while the ticket page stays open: "I am looking at it"."""
    agent = current_agent()
    ops.record_viewing(db.session, ticket, agent)
    db.session.commit()
    names = [a.full_name for a in ops.other_viewers(db.session, ticket, agent.id)]
    return jsonify(viewers=names)
