"""Forward to another administration (CRPA L114-2): recorded, the citizen is told, the
administration gets the request, the ticket is closed here; all audited."""

from __future__ import annotations

from sqlalchemy import select

from tests.functional.dispatch_support import (
    CHEF_VOIRIE,
    POTHOLE,
    VOIRIE,
    events,
    load,
    post_action,
    signed_in,
    ticket_url,
)
from ticketing.models import Forwarding, OutboxMessage
from ticketing.web.extensions import db


def _outbox(app, kind: str) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(m.to_address, m.subject, m.body_text) for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind))]


def test_forwarding_closes_tells_the_citizen_and_sends_the_request(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "transmission",
                           administration="Conseil départemental — routes départementales",
                           address="Hôtel du Département, 99000 Préfecture",
                           email="routes@departement.example",
                           reason="La rue des Érables est une route départementale.")
    assert response.status_code == 303
    ticket = load(app, pothole)
    assert ticket.status == "closed" and ticket.closed_at is not None
    with app.app_context():
        [forwarding] = db.session.scalars(select(Forwarding)).all()
        assert forwarding.administration.startswith("Conseil départemental")
    [event] = events(app, pothole, "ticket.forwarded")
    assert event.after["status"] == "closed"
    assert event.after["administration"].startswith("Conseil départemental")
    [(to, subject, body)] = _outbox(app, "forwarded_notice")
    assert to == "camille.martin@example.org" and ticket.tracking_code in subject
    assert "L114-2" in body and "Conseil départemental" in body and "Préfecture" in body
    [(to, _, body)] = _outbox(app, "forwarded_request")
    assert to == "routes@departement.example" and POTHOLE in body
    page = chef.get(ticket_url(pothole)).get_data(as_text=True)
    assert "Transmise le" in page and "Transmise à une autre administration" in page


def test_the_administration_is_required(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "transmission", administration=" ")
    assert response.status_code == 422
    assert "administration compétente." in response.get_data(as_text=True).split('class="error"')[1]
    assert load(app, pothole).status == "new"
    assert not _outbox(app, "forwarded_notice")


def test_an_agent_without_the_forward_right_gets_403(app, pothole):
    response = post_action(signed_in(app, VOIRIE), pothole, "transmission",
                           administration="Préfecture")
    assert response.status_code == 403
    assert load(app, pothole).status == "new"
