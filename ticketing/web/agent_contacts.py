"""Authorised contacts of a ticket: the agent records or removes the addresses whose mail
quoting the ticket's code joins it (panel on the ticket page, permission "reply")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ticketing.models import Ticket
from ticketing.operations.contacts import (
    ContactRejected,
    add_contact,
    remove_contact,
    ticket_contacts,
)
from ticketing.operations.events import Actor
from ticketing.web.agent_forms import AgentForm
from ticketing.web.auth import current_agent, guard_agent_area, permissions_on_ticket, require
from ticketing.web.extensions import db

bp = Blueprint("agent_contacts", __name__, url_prefix="/<commune>/agent")

PERMISSION = "reply"

# For the ticket history (to be merged into agent.ACTION_LABELS like the other areas' labels).
class ContactForm(AgentForm):
    email = StringField(_l("Adresse électronique"), id="contact-courriel",
                        validators=[DataRequired(_l("Indiquez l'adresse du contact.")),
                                    Length(max=254)])
    name = StringField(_l("Nom"), id="contact-nom", validators=[Optional(), Length(max=200)])
    role = StringField(_l("Qualité (conjoint, avocat, syndic…)"), id="contact-qualite",
                       validators=[Optional(), Length(max=100)])


class RemoveContactForm(AgentForm):
    contact_id = HiddenField(validators=[DataRequired()])


@bp.before_request
def _guard() -> Any:
    return guard_agent_area()


@bp.app_context_processor
def _panel() -> dict[str, Any]:
    return {"contacts_panel": contacts_panel}


def contacts_panel(ticket: Ticket) -> dict[str, Any]:
    """What the ticket page's contacts slot shows to the signed-in agent."""
    return {"contacts": ticket_contacts(db.session, ticket),
            "can_edit": PERMISSION in permissions_on_ticket(ticket),
            "form": ContactForm(formdata=None), "remove_form": RemoveContactForm(formdata=None)}


def _back_to(ticket: Ticket) -> Response:
    return redirect(url_for("agent.ticket", number=ticket.number, _anchor="contacts"), 303)


def _actor() -> Actor:
    return Actor.agent(current_agent(), request.remote_addr)


@bp.post("/tickets/<number>/contacts")
@require(PERMISSION)
def add(ticket: Ticket) -> Response:
    form = ContactForm()
    if not form.validate():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return _back_to(ticket)
    try:
        add_contact(db.session, ticket, current_agent(), form.email.data or "", _actor(),
                    name=form.name.data or "", role=form.role.data or "")
    except ContactRejected as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back_to(ticket)
    db.session.commit()
    flash(_("Contact autorisé enregistré : ses courriels citant le code de suivi rejoindront "
            "la demande."), "success")
    return _back_to(ticket)


@bp.post("/tickets/<number>/contacts/retrait")
@require(PERMISSION)
def remove(ticket: Ticket) -> Response:
    form = RemoveContactForm()
    contact_id = form.contact_id.data or ""
    if not form.validate() or not contact_id.isdigit() or \
            not remove_contact(db.session, ticket, int(contact_id), _actor()):
        flash(_("Ce contact n'existe pas sur cette demande."), "error")
        return _back_to(ticket)
    db.session.commit()
    flash(_("Contact autorisé retiré."), "success")
    return _back_to(ticket)
