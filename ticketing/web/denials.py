"""Denied accesses go to the audit log: refusals of ``check_ticket`` and of guarded pages.

``note_denied`` is called where the reason is known (the missing permission, the ticket);
any other 403 answered to an agent-area page is logged by the ``after_request`` hook, so
a blueprint's guard that simply aborts with 403 is logged too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Response, g, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ticketing.models import Ticket
from ticketing.operations.audit_log import record_access_denied
from ticketing.operations.events import Actor
from ticketing.web.extensions import db

log = logging.getLogger(__name__)
_RECORDED = "access_denial_recorded"


def _actor() -> Actor:
    remote = request.remote_addr
    if current_user.is_authenticated:
        return Actor.agent(current_user.agent, remote)
    return Actor("anonymous", "visiteur non connecté", None, remote)


def note_denied(status: int, permission: str | Sequence[str] | None = None,
                ticket: Ticket | None = None) -> None:
    """Audit this request's refusal once (what the request did so far is rolled back)."""
    ctx = g.get("commune")
    if ctx is None or g.get(_RECORDED):
        return
    g.setdefault(_RECORDED, True)
    try:
        actor = _actor()
        ticket_id = ticket.id if ticket is not None else None
        db.session.rollback()
        ticket = db.session.get(Ticket, ticket_id) if ticket_id is not None else None
        record_access_denied(db.session, ctx.commune_id, actor, path=request.path,
                             method=request.method, status=status, permission=permission,
                             ticket=ticket)
        db.session.commit()
    except SQLAlchemyError:  # the refusal is answered even if the log cannot be written
        log.exception("could not audit a denied access to %s", request.path)
        db.session.rollback()


def log_other_refusals(response: Response) -> Response:
    """``after_request`` hook: a 403 on an agent page whose refusal was not noted yet."""
    if (response.status_code == 403 and current_user.is_authenticated
            and "/agent/" in request.path):
        note_denied(403)
    return response
