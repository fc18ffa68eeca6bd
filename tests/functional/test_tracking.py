"""The tracking page: a citizen sees their request's status and public history, nothing more."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token
from ticketing.domain.deadlines import local_date
from ticketing.mail_templates import format_date_fr
from ticketing.models import Agent, Status, Ticket
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails
from ticketing.operations.tickets import add_note, reply_to_citizen, set_status
from ticketing.web.extensions import db

TRACKING = f"/{DEMO}/suivi"
MISS = "Aucune demande ne correspond à ces informations. Vérifiez le code de suivi et"
TOKEN_VALUE = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+"')


def look_up(client, code: str, verifier: str, url: str = TRACKING):  # type: ignore[no-untyped-def]
    token = csrf_token(client, url)
    return client.post(url, data={"code": code, "verifier": verifier, "csrf_token": token})


def without_token(response) -> bytes:  # type: ignore[no-untyped-def]
    return TOKEN_VALUE.sub(r'\1"', response.get_data(as_text=True)).encode()


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def ticket_and_agent(app, code: str, agent_email: str):  # type: ignore[no-untyped-def]
    ticket = db.session.scalars(select(Ticket).where(Ticket.tracking_code == code)).one()
    agent = db.session.scalars(select(Agent).where(Agent.email == agent_email)).one()
    return ticket, agent


def test_tracking_form_is_labelled(client) -> None:  # type: ignore[no-untyped-def]
    page = text_of(client.get(TRACKING))

    assert '<label for="code">Code de suivi</label>' in page
    assert (
        '<label for="verifier">Votre adresse électronique ou votre nom de famille</label>' in page
    )


def test_right_code_and_email_show_the_status_page(client, file_request) -> None:  # type: ignore[no-untyped-def]
    number, code = file_request()

    response = look_up(client, code, "Camille.MARTIN@example.org")
    page = text_of(response)

    assert response.status_code == 200
    assert f"Demande n° {number}" in page
    assert "Reçue" in page
    assert "Éclairage public" in page and "eclairage@champignac.example" in page
    assert "Le lampadaire devant le 12 rue des Lilas ne s'allume plus." in page
    assert code not in page  # nothing to copy from the page into a shared screen
    assert response.headers["Cache-Control"] == "no-store"
    assert "/suivi" in response.request.path


def test_code_typed_loosely_and_last_name_with_other_case_and_accents(
    app, client, file_request
) -> None:  # type: ignore[no-untyped-def]
    citizen = CitizenDetails(last_name="Lefèvre-Dupont", first_name="Zoé", phone="0612345678")
    number, code = file_request(citizen=citizen)
    typed = code.replace("-", " ").lower().replace("0", "o")

    response = look_up(client, typed, "  LEFEVRE dupont ")

    assert response.status_code == 200
    assert f"Demande n° {number}" in text_of(response)


def test_status_dates_and_public_history_with_signature(
    app, client, file_request, demo_accounts
) -> None:  # type: ignore[no-untyped-def]
    number, code = file_request()
    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        ticket, agent = ticket_and_agent(app, code, "agent.eclairage@champignac.example")
        actor = Actor.agent(agent)
        add_note(db.session, ticket, agent, "Note interne : l'usager appelle souvent.", actor)
        reply_to_citizen(
            db.session,
            ctx,
            ticket,
            agent,
            "Un technicien passera jeudi pour remplacer l'ampoule.",
            actor,
            new_status=Status.IN_PROGRESS,
        )
        db.session.commit()
        due, received = ticket.answer_due_on, ticket.received_at

    page = text_of(look_up(client, code, "martin"))

    assert "En cours de traitement" in page
    assert format_date_fr(due) in page
    assert format_date_fr(local_date(received, ctx.timezone)) in page
    assert "Un technicien passera jeudi pour remplacer l'ampoule." in page
    assert "Jeanne Fantasio" in page and "Agente de l'éclairage public" in page  # L111-2
    assert "Note interne" not in page
    assert "l'usager appelle souvent" not in page
    assert page.index("Votre message") < page.index("Réponse de la mairie")


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (Status.WAITING_CITIZEN, "En attente de votre réponse"),
        (Status.ANSWERED, "Répondue"),
        (Status.CLOSED, "Clôturée"),
    ],
)
def test_status_labels_are_in_french(app, client, file_request, status, label) -> None:  # type: ignore[no-untyped-def]
    _number, code = file_request()
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.tracking_code == code)).one()
        set_status(db.session, ticket, status, Actor.system(),
                   app.extensions["aiguillage"].context(DEMO).config)
        db.session.commit()

    assert f'">{label}</span>' in text_of(look_up(client, code, "Martin"))


def test_every_miss_gets_the_same_answer(client, file_request) -> None:  # type: ignore[no-untyped-def]
    _number, code = file_request()
    unknown = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"

    misses = [
        look_up(client, unknown, "Martin"),  # unknown code
        look_up(client, code, "Dupont"),  # wrong verifier
        look_up(client, code, "camille.martin@example.com"),  # wrong e-mail
        look_up(client, "pas un code", "Martin"),  # bad format
    ]

    assert {r.status_code for r in misses} == {200}
    assert MISS in text_of(misses[0])
    bodies = {without_token(r) for r in misses}
    assert len(bodies) == 1
    assert b"Martin" not in bodies.pop()  # nothing typed is echoed back


def test_empty_fields_are_form_errors(client) -> None:  # type: ignore[no-untyped-def]
    response = look_up(client, "", "")
    page = text_of(response)

    assert response.status_code == 400
    assert "Le formulaire contient 2 erreur(s)" in page
    assert "Indiquez votre code de suivi." in page
    assert re.search(r"<title>Erreur — ", page)


def test_guessing_codes_is_rate_limited(app, client, settings, file_request) -> None:  # type: ignore[no-untyped-def]
    _number, code = file_request()
    app.extensions["aiguillage"].settings = replace(settings, tracking_limit="3 per minute")
    token = csrf_token(client, TRACKING)

    statuses = [
        client.post(
            TRACKING, data={"code": f"AAAA-AAA{i}", "verifier": "Martin", "csrf_token": token}
        ).status_code
        for i in range(3)
    ]
    blocked = client.post(TRACKING, data={"code": code, "verifier": "Martin", "csrf_token": token})

    assert statuses == [200, 200, 200]
    assert blocked.status_code == 429
    assert "Demande n°" not in text_of(blocked)


def test_citizen_text_is_escaped(client, file_request) -> None:  # type: ignore[no-untyped-def]
    _number, code = file_request(
        description="Bonjour <script>alert(1)</script>\n<b>gras</b> & « guillemets »",
        subject='<img src=x onerror="alert(2)">',
    )

    raw = look_up(client, code, "Martin").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert "<img src=x" not in raw and "&lt;img src=x onerror=" in raw
    assert "<b>gras</b>" not in raw
