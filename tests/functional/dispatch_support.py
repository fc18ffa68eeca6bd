"""Helpers shared by the dispatch tests: demo accounts, tickets, posting a ticket-page form."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.models import AuditEvent, Ticket
from ticketing.web.extensions import db

COURRIER = "courrier@champignac.example"
CHEF_VOIRIE = "chef.voirie@champignac.example"
VOIRIE = "agent.voirie@champignac.example"
ECLAIRAGE = "agent.eclairage@champignac.example"
CABINET = "cabinet@champignac.example"
ELU = "elu@champignac.example"
POTHOLE = "Un nid de poule profond devant le 3 rue des Érables."
UNSORTED = "Bonjour, je ne sais pas à qui m'adresser pour ma question. Merci."
VERSION = re.compile(r'name="version" value="(\d+)"')


def ticket_url(number: str, action: str = "") -> str:
    return f"/{DEMO}/agent/tickets/{number}" + (f"/{action}" if action else "")


def signed_in(app, email: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = login(client, email)
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    return client


def post_action(client, number: str, action: str, **data):  # type: ignore[no-untyped-def]
    """Post a dispatch form as the ticket page offers it (CSRF token and current version)."""
    page = client.get(ticket_url(number)).get_data(as_text=True)
    found = VERSION.search(page)
    data.setdefault("csrf_token", csrf_token(client, f"/{DEMO}/agent/"))
    data.setdefault("version", found.group(1) if found else "0")
    return client.post(ticket_url(number, action), data=data)


def load(app, number: str) -> Ticket:
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        db.session.expunge(ticket)
        return ticket


def events(app, number: str, action: str) -> list[AuditEvent]:
    with app.app_context():
        ticket_id = db.session.scalars(select(Ticket.id).where(Ticket.number == number)).one()
        rows = db.session.scalars(select(AuditEvent).where(
            AuditEvent.ticket_id == ticket_id, AuditEvent.action == action)
            .order_by(AuditEvent.id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)

