"""The ticket page's authorised contacts: recorded and removed by agents who may reply,
audited, read-only for the others, invisible to agents who cannot see the ticket."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.models import AuditEvent, Ticket, TicketContact
from ticketing.web.extensions import db

VOIRIE = "agent.voirie@champignac.example"
ECLAIRAGE = "agent.eclairage@champignac.example"
ELU = "elu@champignac.example"


@pytest.fixture
def voirie_ticket(file_request) -> str:
    number, _code = file_request(category_code="chaussee",
                                 description="Un nid de poule devant le 3 rue des Érables.",
                                 extra_fields={"adresse": "3 rue des Érables"})
    return number


def _page(number: str) -> str:
    return f"/{DEMO}/agent/tickets/{number}"


def _post(client, number: str, action: str, **data):  # type: ignore[no-untyped-def]
    data["csrf_token"] = csrf_token(client, _page(number))
    return client.post(f"{_page(number)}/{action}", data=data)


def _contacts(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [(c.email, c.name, c.role) for c in db.session.scalars(select(TicketContact))]


def _actions(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.like("ticket.contact%")).order_by(AuditEvent.id)))


def test_an_agent_records_then_removes_a_contact(app, client, demo_accounts, voirie_ticket):
    login(client, VOIRIE)
    response = _post(client, voirie_ticket, "contacts", email=" Syndic@Copro.example ",
                     name="Cabinet Lebrun", role="syndic de copropriété")
    assert response.status_code == 303
    assert _contacts(app) == [("syndic@copro.example", "Cabinet Lebrun",
                               "syndic de copropriété")]
    page = client.get(_page(voirie_ticket)).get_data(as_text=True)
    assert "Contacts autorisés" in page and "syndic@copro.example" in page

    with app.app_context():
        contact_id = db.session.scalars(select(TicketContact.id)).one()
    assert _post(client, voirie_ticket, "contacts/retrait",
                 contact_id=str(contact_id)).status_code == 303
    assert _contacts(app) == []
    assert _actions(app) == ["ticket.contact_added", "ticket.contact_removed"]
    history = client.get(_page(voirie_ticket)).get_data(as_text=True)
    assert "Contact autorisé ajouté" in history and "Contact autorisé retiré" in history


@pytest.mark.parametrize("email", ["pas-une-adresse", "camille.martin@example.org"])
def test_invalid_or_citizen_address_is_refused(app, client, demo_accounts, voirie_ticket,
                                               email):
    login(client, VOIRIE)
    response = _post(client, voirie_ticket, "contacts", email=email)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "invalide" in page or "déjà celle de" in page
    assert _contacts(app) == [] and _actions(app) == []


def test_an_agent_without_reply_sees_the_list_but_cannot_change_it(
        app, client, demo_accounts, voirie_ticket):
    login(client, ELU)
    page = client.get(_page(voirie_ticket)).get_data(as_text=True)
    assert "Contacts autorisés" in page and "Autoriser ce contact" not in page
    token = csrf_token(client, _page(voirie_ticket))
    response = client.post(f"{_page(voirie_ticket)}/contacts",
                           data={"email": "x@example.org", "csrf_token": token})
    assert response.status_code == 403
    assert _contacts(app) == []


def test_an_agent_who_cannot_see_the_ticket_gets_404(app, client, demo_accounts, voirie_ticket):
    login(client, ECLAIRAGE)
    token = csrf_token(client, f"/{DEMO}/agent/")
    response = client.post(f"{_page(voirie_ticket)}/contacts",
                           data={"email": "x@example.org", "csrf_token": token})
    assert response.status_code == 404
    assert _contacts(app) == []
    with app.app_context():
        assert db.session.scalars(select(Ticket)).one() is not None
