"""A reply to a citizen without e-mail goes by post: its PDF letter is produced at once."""

from __future__ import annotations

import logging

from flask import request

from ticketing.models import Attachment, ThreadEntry
from ticketing.operations.events import Actor
from ticketing.operations.letters import produce_letter
from ticketing.web.auth import current_agent
from ticketing.web.extensions import db
from ticketing.web.registry import current_commune, registry

log = logging.getLogger(__name__)


def letter_for_postal_reply(entry: ThreadEntry) -> Attachment | None:
    """After the reply is committed: its letter when the citizen has no e-mail address.
    A rendering failure leaves the reply sent and the button on the page (None)."""
    if entry.ticket.citizen.email:
        return None
    try:
        attachment = produce_letter(db.session, current_commune(), entry,
                                    registry().settings.themes_dir,
                                    Actor.agent(current_agent(), request.remote_addr))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the reply stands; the agent can retry from the page
        db.session.rollback()
        log.exception("letter of reply %s could not be produced", entry.id)
        return None
    return attachment
