"""An agent places a request (quartier and position): audited, shown on the ticket and on
the pilot's map; refused to whoever may not change the ticket."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.models import AuditEvent, Ticket
from ticketing.operations.accounts import create_agent
from ticketing.operations.events import Actor
from ticketing.operations.tickets import LocationRejected, set_location
from ticketing.web.extensions import db

VOIRIE = "agent.voirie@champignac.example"
ECLAIRAGE = "agent.eclairage@champignac.example"
CABINET = "cabinet@champignac.example"
MAP = f"/{DEMO}/agent/pilotage/carte"


@pytest.fixture
def number(file_request, demo_accounts) -> str:  # type: ignore[no-untyped-def]
    return file_request(category_code="chaussee",
                        description="Un nid de poule devant le 3 rue des Érables.",
                        extra_fields={"adresse": "3 rue des Érables"})[0]


def _url(number: str, action: str = "") -> str:
    return f"/{DEMO}/agent/tickets/{number}" + (f"/{action}" if action else "")


def _locate(client, number: str, **data: str):  # type: ignore[no-untyped-def]
    data["csrf_token"] = csrf_token(client, _url(number))
    return client.post(_url(number, "localisation"), data=data)


def _ticket_and_events(app, number: str) -> tuple[Ticket, list[AuditEvent]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.ticket_id == ticket.id, AuditEvent.action == "ticket.located")).all()
        db.session.expunge_all()
    return ticket, list(events)


def test_agent_sets_zone_and_position_audited_and_on_the_map(app, client, demo_ctx, number):  # type: ignore[no-untyped-def]
    login(client, VOIRIE)
    center = demo_ctx.config.commune.map.center
    lat, lon = center.lat + 0.001, center.lon - 0.002
    response = _locate(client, number, zone="hameau-des-morilles",
                       latitude=f"{lat:.4f}".replace(".", ","), longitude=f"{lon:.4f}")
    assert response.status_code == 303

    ticket, events = _ticket_and_events(app, number)
    assert (ticket.zone_code, ticket.latitude, ticket.longitude) == (
        "hameau-des-morilles", pytest.approx(lat), pytest.approx(lon))
    assert len(events) == 1
    event = events[0]
    assert event.actor_label == "Yves Lebrac" and event.actor_kind == "agent"
    assert event.before == {"zone_code": None, "latitude": None, "longitude": None}
    assert event.after["zone_code"] == "hameau-des-morilles"
    assert event.after["latitude"] == pytest.approx(lat)

    page = html.unescape(client.get(_url(number)).get_data(as_text=True))
    assert "Hameau des Morilles — élu(e) du secteur : Lucie Chanterelle" in page
    assert "Localisation modifiée (quartier : Hameau des Morilles, position modifiée)" in page

    # Saving the same place again changes nothing and writes no event.
    assert _locate(client, number, zone="hameau-des-morilles", latitude=f"{lat:.4f}",
                   longitude=f"{lon:.4f}").status_code == 303
    assert len(_ticket_and_events(app, number)[1]) == 1

    cabinet = app.test_client()
    login(cabinet, CABINET)
    svg = cabinet.get(MAP).get_data(as_text=True)
    assert re.findall(r'/agent/tickets/([0-9-]+)" class="map-marker"', svg) == [number]
    markers = cabinet.get(f"{MAP}.json?quartier=hameau-des-morilles").get_json()["markers"]
    assert [m["number"] for m in markers] == [number]


def test_clearing_the_place(app, client, number):  # type: ignore[no-untyped-def]
    login(client, VOIRIE)
    _locate(client, number, zone="centre-bourg", latitude="45.04", longitude="3.88")
    assert _locate(client, number, zone="", latitude="", longitude="").status_code == 303
    ticket, events = _ticket_and_events(app, number)
    assert (ticket.zone_code, ticket.latitude, ticket.longitude) == (None, None, None)
    assert len(events) == 2


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"zone": "atlantide", "latitude": "", "longitude": ""}, "localisation-quartier",
     "Choisissez un quartier dans la liste."),
    ({"zone": "", "latitude": "91", "longitude": "3.88"}, "localisation-latitude",
     "Indiquez une latitude entre -90 et 90, par exemple 45,0450."),
    ({"zone": "", "latitude": "45", "longitude": "est"}, "localisation-longitude",
     "Indiquez une longitude entre -180 et 180, par exemple 3,8850."),
    ({"zone": "", "latitude": "nan", "longitude": "3"}, "localisation-latitude",
     "Indiquez une latitude entre -90 et 90, par exemple 45,0450."),
    ({"zone": "", "latitude": "45", "longitude": ""}, "localisation-longitude",
     "Indiquez la latitude et la longitude, ou aucune des deux."),
])
def test_invalid_place_is_refused_with_a_french_error(app, client, number, data, field, message):  # type: ignore[no-untyped-def]
    login(client, VOIRIE)
    response = _locate(client, number, **data)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert f'<p class="error" id="{field}-error">{message}</p>' in page
    ticket, events = _ticket_and_events(app, number)
    assert (ticket.zone_code, ticket.latitude, events) == (None, None, [])


def test_use_case_refuses_what_the_form_would(app, db_session, demo_ctx, number):  # type: ignore[no-untyped-def]
    ticket = db_session.scalars(select(Ticket).where(Ticket.number == number)).one()
    actor = Actor.system("test")
    for zone, lat, lon, field in [("atlantide", None, None, "zone"),
                                  (None, 45.0, None, "location"),
                                  (None, 45.0, 181.0, "location")]:
        with pytest.raises(LocationRejected) as caught:
            set_location(db_session, demo_ctx, ticket, zone, lat, lon, actor)
        assert caught.value.field == field


def test_agent_of_another_service_gets_404(client, number):  # type: ignore[no-untyped-def]
    login(client, ECLAIRAGE)
    response = client.post(_url(number, "localisation"),
                           data={"zone": "centre-bourg", "csrf_token": csrf_token(
                               client, f"/{DEMO}/agent/")})
    assert response.status_code == 404


def test_elu_may_read_but_not_locate(app, client, demo_ctx, number):  # type: ignore[no-untyped-def]
    with app.app_context():
        create_agent(db.session, demo_ctx.commune_id, "elu.secteur@champignac.example", "Zorglub",
                     "mot-de-passe-de-l-elu", Actor.system("test"), title="Adjoint au maire",
                     memberships=[("cabinet", "elu")])
        db.session.commit()
    login(client, "elu.secteur@champignac.example", password="mot-de-passe-de-l-elu")
    page = client.get(_url(number))
    assert page.status_code == 200
    assert "localisation" not in page.get_data(as_text=True).split("<main", 1)[1].lower()
    response = client.post(_url(number, "localisation"),
                           data={"zone": "centre-bourg", "csrf_token": csrf_token(
                               client, _url(number))})
    assert response.status_code == 403
    assert _ticket_and_events(app, number)[1] == []
