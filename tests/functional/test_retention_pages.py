"""Pages of an anonymised request (RGPD retention): agents still open it and see when it was
anonymised; the public tracking page answers as for an unknown code."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.models import OutboxMessage, OutboxStatus, Status, Ticket
from ticketing.operations.intake import CitizenDetails
from ticketing.operations.retention import anonymise_due

CLOSED = datetime(2021, 3, 10, 9, 0, tzinfo=UTC)
MISS = "Aucune demande ne correspond à ces informations."
CAMILLE = CitizenDetails(last_name="Martin", first_name="Camille",
                         email="camille.martin@example.org", phone="0612345678")


def _old_and_live(app, db_session, demo_ctx, file_request):  # type: ignore[no-untyped-def]
    """Two requests of one citizen: one closed in 2021 and anonymised, one still open."""
    old, old_code = file_request(citizen=CAMILLE, category_code="chaussee",
                                 subject="Nid de poule rue des Lilas",
                                 received_at=CLOSED - timedelta(days=10))
    live, live_code = file_request(citizen=CAMILLE, category_code="chaussee",
                                   received_at=datetime.now(UTC))
    ticket = db_session.scalars(select(Ticket).where(Ticket.number == old)).one()
    ticket.status, ticket.closed_at = Status.CLOSED, CLOSED
    for message in db_session.scalars(select(OutboxMessage)):
        message.status = OutboxStatus.SENT
    db_session.commit()
    mail_dir = app.extensions["aiguillage"].settings.data_dir / "mail"
    assert anonymise_due(db_session, demo_ctx, mail_dir).numbers == [old]
    return (old, old_code), (live, live_code)


def _track(client, code: str, verifier: str) -> str:  # type: ignore[no-untyped-def]
    url = f"/{DEMO}/suivi"
    token = csrf_token(client, url)
    response = client.post(url, data={"code": code, "verifier": verifier, "csrf_token": token})
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_the_tracking_page_answers_an_anonymised_code_as_unknown(
        app, client, db_session, demo_ctx, file_request) -> None:  # type: ignore[no-untyped-def]
    (_old, old_code), (_live, live_code) = _old_and_live(app, db_session, demo_ctx,
                                                         file_request)
    page = _track(client, old_code, "Martin")
    assert MISS in page and "Lilas" not in page
    assert MISS not in _track(client, live_code, "Martin")  # the citizen still has a live one


def test_agents_still_open_an_anonymised_request(
        app, client, db_session, demo_ctx, demo_accounts, file_request) -> None:  # type: ignore[no-untyped-def]
    (old, _), _live = _old_and_live(app, db_session, demo_ctx, file_request)
    login(client, "agent.eclairage@champignac.example")  # the lamp post routes there
    response = client.get(f"/{DEMO}/agent/tickets/{old}")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "Demande anonymisée le" in page
    assert "Lilas" not in page
