"""Quarantined mail, for agents allowed to read the audit trail: list and raw .eml download."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, send_file
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ticketing.domain.deadlines import local_date
from ticketing.domain.rights import permissions_on
from ticketing.models import InboundMessage, InboundStatus
from ticketing.operations.attachments import blob_path
from ticketing.web.auth import guard_agent_area
from ticketing.web.extensions import db
from ticketing.web.registry import current_commune, registry
from ticketing.web.themes import render_page

bp = Blueprint("mail_admin", __name__, url_prefix="/<commune>/agent/courriels")

PERMISSION = "view_audit"
PAGE_SIZE = 200


def may_see_quarantine() -> bool:
    config = current_commune().config
    return any(PERMISSION in permissions_on(current_user.grants, config.roles, code)
               for code in config.services)


@bp.before_request
def _guard() -> Any:
    refused = guard_agent_area()
    if refused is not None:
        return refused
    if not may_see_quarantine():
        abort(403)
    return None


@bp.get("/quarantaine")
def quarantine() -> str:
    messages = db.session.scalars(
        select(InboundMessage)
        .where(InboundMessage.status == InboundStatus.QUARANTINED)
        .order_by(InboundMessage.id.desc())
        .limit(PAGE_SIZE)
    ).all()
    timezone = current_commune().timezone
    return render_page("agent/mail_quarantine.html", messages=messages,
                       received_on=lambda m: local_date(m.received_at, timezone))


@bp.get("/quarantaine/<int:message_id>.eml")
def raw_message(message_id: int) -> Response:
    message = db.session.get(InboundMessage, message_id)
    if message is None or message.commune_id != current_commune().commune_id:
        abort(404)
    path = blob_path(registry().settings.data_dir / "mail", message.raw_sha256)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="message/rfc822", as_attachment=True,
                         download_name=f"courriel-{message.id}.eml", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
