"""A transfer tells the receiving service, at its address, that a ticket nobody there holds
has arrived: which one, from which service, why, and the link to open it."""

from __future__ import annotations

from sqlalchemy import select

from tests.functional.dispatch_support import (
    CHEF_VOIRIE,
    COURRIER,
    ECLAIRAGE,
    UNSORTED,
    events,
    load,
    post_action,
    signed_in,
    ticket_url,
)
from ticketing.models import OutboxMessage
from ticketing.web.extensions import db

REASON = "Il s'agit d'un candélabre, pas de la chaussée."


def _notices(app) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "transfer_notice")).all()
        db.session.expunge_all()
        return list(rows)


def test_the_receiving_service_is_told_which_ticket_from_whom_and_why(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "transfert", service="eclairage", reason=REASON)
    assert response.status_code == 303
    ticket = load(app, pothole)
    assert ticket.assignee_id is None

    [notice] = _notices(app)
    assert notice.to_address == "eclairage@champignac.example"  # services.yaml
    assert notice.ticket_id == ticket.id
    assert notice.subject == f"Demande n° {pothole} transférée à votre service par « Voirie »"
    body = notice.body_text
    assert f"demande n° {pothole}" in body and ticket.subject in body
    assert "du service « Voirie » au service « Éclairage public »" in body
    assert f"Motif du transfert : {REASON}" in body
    assert "Léon Prunelle a transféré" in body
    assert "n'est confiée à personne dans votre service" in body
    assert f"/champignac-en-cambrousse/agent/tickets/{pothole}" in body

    # The audit trail says where the notice went, and the history shows it.
    [event] = events(app, pothole, "ticket.transferred")
    assert event.after["notified"] == "eclairage@champignac.example"
    page = signed_in(app, ECLAIRAGE).get(ticket_url(pothole)).get_data(as_text=True)
    assert "service prévenu à eclairage@champignac.example" in page


def test_a_refused_transfer_tells_nobody(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "transfert", service="eclairage", reason=" ")
    assert response.status_code == 422
    assert _notices(app) == []


def test_dispatching_from_triage_is_routing_and_sends_no_notice(app, file_request,
                                                                demo_accounts):
    number, _ = file_request(description=UNSORTED)
    client = signed_in(app, COURRIER)
    response = post_action(client, number, "orienter", category="chaussee", service="voirie",
                           depuis="tri")
    assert response.status_code == 303
    assert load(app, number).service_code == "voirie"
    assert _notices(app) == []
    assert "notified" not in events(app, number, "ticket.dispatched")[0].after
