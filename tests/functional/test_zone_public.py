"""The quartier (zone) on the public form: offered only where the commune declares zones,
allow-listed, carried to the ticket and to the pilot's zone filter."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import DEMO, OTHER, csrf_token, login
from tests.functional.test_public_form import field_error, post_form, text_of, valid_data
from ticketing.models import Ticket
from ticketing.web.extensions import db

CABINET = "cabinet@champignac.example"


def _only_ticket(app) -> Ticket:  # type: ignore[no-untyped-def]
    with app.app_context():
        ticket = db.session.scalars(select(Ticket)).one()
        db.session.expunge(ticket)
    return ticket


def test_form_offers_the_communes_zones(client) -> None:  # type: ignore[no-untyped-def]
    page = text_of(client.get(f"/{DEMO}/demande"))
    assert '<label for="zone">Quartier concerné</label>' in page
    select = page.split('id="zone"')[1].split("</select>")[0]
    options = re.findall(r'<option value="([^"]*)"', select)
    assert options == ["", "centre-bourg", "les-cepes", "zone-artisanale", "hameau-des-morilles"]


def test_no_zone_choice_where_the_commune_declares_none(client) -> None:  # type: ignore[no-untyped-def]
    page = text_of(client.get(f"/{OTHER}/demande"))
    assert "Quartier concerné" not in page and 'name="zone"' not in page


def test_chosen_zone_lands_on_the_ticket_and_in_the_pilot_filter(app, client, demo_accounts):  # type: ignore[no-untyped-def]
    response = post_form(client, valid_data(zone="les-cepes"))
    assert response.status_code == 303, field_error(text_of(response), "zone")
    ticket = _only_ticket(app)
    assert ticket.zone_code == "les-cepes"

    login(client, CABINET)
    # Due within days: the dashboard's widest "soon due" horizon reaches it.
    wanted = client.get(f"/{DEMO}/agent/pilotage/?quartier=les-cepes&horizon=14")
    other = client.get(f"/{DEMO}/agent/pilotage/?quartier=centre-bourg&horizon=14")
    assert wanted.status_code == 200
    assert ticket.number in wanted.get_data(as_text=True)
    assert ticket.number not in other.get_data(as_text=True)
    # The ticket page names the quartier and its élu.
    page = text_of(client.get(f"/{DEMO}/agent/tickets/{ticket.number}"))
    assert "Les Cèpes — élu(e) du secteur : Marc Bolet" in page


def test_no_zone_chosen_leaves_it_empty(app, client) -> None:  # type: ignore[no-untyped-def]
    assert post_form(client, valid_data(zone="")).status_code == 303
    assert _only_ticket(app).zone_code is None


def test_unknown_zone_is_refused_with_a_french_field_error(app, client) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, valid_data(zone="quartier-inexistant"))
    assert response.status_code == 400
    page = text_of(response)
    assert field_error(page, "zone") == "Choisissez un quartier dans la liste."
    assert 'href="#zone">Quartier concerné : Choisissez un quartier dans la liste.' in page
    with app.app_context():
        assert db.session.scalars(select(Ticket)).first() is None


def test_zone_posted_where_none_is_declared_is_ignored(app, client) -> None:  # type: ignore[no-untyped-def]
    data = {"category": "autre", "description": "Une question sur les horaires de la mairie.",
            "first_name": "Camille", "last_name": "Martin",
            "email": "camille.martin@example.org", "zone": "centre-bourg",
            "csrf_token": csrf_token(client, f"/{OTHER}/demande")}
    response = client.post(f"/{OTHER}/demande", data=data)
    assert response.status_code == 303
    assert _only_ticket(app).zone_code is None


def test_home_links_the_quality_results_when_published(client) -> None:  # type: ignore[no-untyped-def]
    assert f'href="/{DEMO}/qualite">Nos résultats qualité</a>' in text_of(client.get(f"/{DEMO}/"))
    assert "Nos résultats qualité" not in text_of(client.get(f"/{OTHER}/"))
