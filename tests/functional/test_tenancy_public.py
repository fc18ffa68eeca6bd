"""Public pages never cross communes: a code, a category or a confirmation stays in its commune."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, OTHER, csrf_token
from ticketing.models import Ticket
from ticketing.web.extensions import db

TOKEN_VALUE = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+"')


def look_up(client, commune: str, code: str, verifier: str):  # type: ignore[no-untyped-def]
    url = f"/{commune}/suivi"
    token = csrf_token(client, url)
    return client.post(url, data={"code": code, "verifier": verifier, "csrf_token": token})


def without_token(response) -> str:  # type: ignore[no-untyped-def]
    return TOKEN_VALUE.sub(r'\1"', response.get_data(as_text=True))


def submit(client, commune: str, **fields: str):  # type: ignore[no-untyped-def]
    url = f"/{commune}/demande"
    data = {
        "description": "Le lampadaire de la place ne s'allume plus depuis une semaine.",
        "first_name": "Camille",
        "last_name": "Martin",
        "email": "camille.martin@example.org",
        "csrf_token": csrf_token(client, url),
        **fields,
    }
    return client.post(url, data=data)


def test_code_of_one_commune_is_a_miss_in_another(client, file_request) -> None:  # type: ignore[no-untyped-def]
    _number, code = file_request(DEMO)
    unknown = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"

    at_home = look_up(client, DEMO, code, "Martin")
    elsewhere = look_up(client, OTHER, code, "Martin")
    unknown_elsewhere = look_up(client, OTHER, unknown, "Martin")

    assert at_home.status_code == 200 and "Demande n°" in at_home.get_data(as_text=True)
    assert elsewhere.status_code == unknown_elsewhere.status_code == 200
    assert without_token(elsewhere) == without_token(unknown_elsewhere)
    assert "Aucune demande ne correspond" in elsewhere.get_data(as_text=True)


def test_confirmation_of_one_commune_is_not_shown_in_another(app, client) -> None:  # type: ignore[no-untyped-def]
    assert (
        submit(
            client, DEMO, category="eclairage-panne", extra_adresse_incident="Place de la Mairie"
        ).status_code
        == 303
    )
    with app.app_context():
        code = db.session.scalars(select(Ticket.tracking_code)).one()

    assert code in client.get(f"/{DEMO}/demande/confirmation").get_data(as_text=True)
    response = client.get(f"/{OTHER}/demande/confirmation")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/{OTHER}/demande")


def test_each_commune_offers_only_its_own_categories(app, client) -> None:  # type: ignore[no-untyped-def]
    page = client.get(f"/{OTHER}/demande").get_data(as_text=True)
    assert 'value="signalement"' in page and 'value="eclairage-panne"' not in page

    refused = submit(client, OTHER, category="eclairage-panne")
    assert refused.status_code == 400
    assert "Choisissez une catégorie dans la liste." in html.unescape(
        refused.get_data(as_text=True)
    )

    accepted = submit(
        client, OTHER, category="signalement", extra_adresse_incident="Place de l'Église"
    )
    assert accepted.status_code == 303
    other_id = app.extensions["aiguillage"].commune_ids[OTHER]
    with app.app_context():
        ticket = db.session.scalars(select(Ticket)).one()
        assert ticket.commune_id == other_id
        assert ticket.service_code == "technique"
        assert ticket.extra_fields == {"adresse_incident": "Place de l'Église"}


def test_other_commune_uses_its_own_extra_fields_and_rules(client) -> None:  # type: ignore[no-untyped-def]
    page = html.unescape(
        client.get(f"/{OTHER}/demande?categorie=salle-des-fetes").get_data(as_text=True)
    )

    assert 'name="extra_date_location"' in page and 'type="date"' in page
    assert 'name="extra_nombre_personnes"' in page
    assert "3 fichier(s) au maximum, 5 Mo" in page  # Trifouillis' attachment rules


@pytest.mark.parametrize("path", ["/", "/demande", "/demande/confirmation", "/suivi"])
def test_unknown_commune_is_not_found(client, path: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/commune-inconnue{path}").status_code == 404
