"""The ticket page and its actions: rights (404/403), reply, templates, notes, status, files."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.models import AuditEvent, EntryKind, OutboxMessage, Status, ThreadEntry, Ticket
from ticketing.operations.accounts import create_agent
from ticketing.operations.attachments import IncomingFile
from ticketing.operations.events import Actor
from ticketing.web.extensions import db

VOIRIE = "agent.voirie@champignac.example"
ECLAIRAGE = "agent.eclairage@champignac.example"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
POTHOLE = "Un nid de poule profond devant le 3 rue des Érables."


@pytest.fixture
def voirie_ticket(file_request) -> tuple[str, str]:
    return file_request(category_code="chaussee", description=POTHOLE,
                        extra_fields={"adresse": "3 rue des Érables"})


@pytest.fixture
def eclairage_ticket(file_request) -> tuple[str, str]:
    return file_request(category_code="eclairage-panne",
                        files=[IncomingFile("lampadaire.png", PNG)])


def _url(number: str, action: str = "") -> str:
    return f"/{DEMO}/agent/tickets/{number}" + (f"/{action}" if action else "")


def _post(client, number: str, action: str, **data):  # type: ignore[no-untyped-def]
    data["csrf_token"] = csrf_token(client, _url(number))
    return client.post(_url(number, action), data=data)


def _load(app, number: str):  # type: ignore[no-untyped-def]
    """The ticket with its thread, events and outbox, read in a fresh context."""
    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(
            Ticket.commune_id == ctx.commune_id, Ticket.number == number)).one()
        entries = db.session.scalars(select(ThreadEntry).where(
            ThreadEntry.ticket_id == ticket.id).order_by(ThreadEntry.id)).all()
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.ticket_id == ticket.id).order_by(AuditEvent.id)).all()
        outbox = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.ticket_id == ticket.id).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
    return ticket, entries, events, outbox


def test_ticket_page_shows_the_request(client, demo_accounts, voirie_ticket):
    number, code = voirie_ticket
    login(client, VOIRIE)
    page = client.get(_url(number))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for expected in (number, code, "Formulaire en ligne", "Voirie", "Reçue", "Camille Martin",
                     "camille.martin@example.org", "nid de poule profond", "3 rue des Érables",
                     "Demande enregistrée", "Envoyer la réponse", "Prendre en charge"):
        assert expected in html, expected
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids"


def test_unknown_ticket_is_404(client, demo_accounts):
    login(client, VOIRIE)
    assert client.get(_url("2020-999999")).status_code == 404


def test_ticket_of_a_service_out_of_reach_is_404(client, demo_accounts, eclairage_ticket):
    number, _code = eclairage_ticket
    login(client, VOIRIE)
    assert client.get(_url(number)).status_code == 404
    token = csrf_token(client, f"/{DEMO}/agent/")
    response = client.post(_url(number, "reponse"), data={"csrf_token": token, "body": "x",
                                                         "status": "answered"})
    assert response.status_code == 404


def test_attachment_download(app, client, demo_accounts, eclairage_ticket):
    number, _code = eclairage_ticket
    login(client, ECLAIRAGE)
    html = client.get(_url(number)).get_data(as_text=True)
    link = re.search(r'href="(/[^"]+/agent/pieces/[^"]+)"', html)
    assert link and "lampadaire.png" in html
    response = client.get(link.group(1))
    assert response.status_code == 200
    assert response.data == PNG
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "lampadaire.png" in response.headers["Content-Disposition"]


def test_attachment_of_a_service_out_of_reach_is_404(client, demo_accounts, eclairage_ticket):
    number, _code = eclairage_ticket
    login(client, ECLAIRAGE)
    html = client.get(_url(number)).get_data(as_text=True)
    link = re.search(r'href="(/[^"]+/agent/pieces/[^"]+)"', html).group(1)
    client.post(f"/{DEMO}/agent/deconnexion",
                data={"csrf_token": csrf_token(client, f"/{DEMO}/agent/")})
    login(client, VOIRIE)
    assert client.get(link).status_code == 404
    assert client.get(f"/{DEMO}/agent/pieces/inexistant").status_code == 404


def test_reply_is_signed_mailed_and_audited(app, client, demo_accounts, voirie_ticket):
    number, code = voirie_ticket
    login(client, VOIRIE)
    response = _post(client, number, "reponse", body="Nous intervenons jeudi.",
                     subject="", status="answered")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(_url(number))
    ticket, entries, events, outbox = _load(app, number)
    reply = [e for e in entries if e.kind == EntryKind.REPLY]
    assert len(reply) == 1 and reply[0].body == "Nous intervenons jeudi."
    for part in ("Yves Lebrac", "Technicien voirie", "Voirie"):
        assert part in reply[0].author_signature
    assert ticket.status == Status.ANSWERED and ticket.first_answer_at is not None
    mails = [m for m in outbox if m.kind == "reply"]
    assert len(mails) == 1
    assert mails[0].to_address == "camille.martin@example.org"
    assert code in mails[0].subject
    assert "Nous intervenons jeudi." in mails[0].body_text
    assert "ticket.replied" in [e.action for e in events]
    page = client.get(_url(number)).get_data(as_text=True)
    assert "Nous intervenons jeudi." in page and "Réponse à l'usager" in page


def test_empty_reply_is_refused_with_a_message(app, client, demo_accounts, voirie_ticket):
    number, _code = voirie_ticket
    login(client, VOIRIE)
    response = _post(client, number, "reponse", body="  ", status="answered")
    assert response.status_code == 422
    assert "Écrivez la réponse." in response.get_data(as_text=True)
    _ticket, entries, _events, _outbox = _load(app, number)
    assert [e.kind for e in entries] == [EntryKind.INBOUND]


def test_reply_template_prefills_the_form(client, demo_accounts, voirie_ticket):
    number, _code = voirie_ticket
    login(client, VOIRIE)
    html = client.get(f"{_url(number)}?modele=reponse-generique").get_data(as_text=True)
    body = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert "Bonjour Camille Martin" in body
    assert "Yves Lebrac" in body
    assert f"Votre demande n° {number}" in html  # the subject
    # A template reserved to another service is not offered, and not applied.
    html = client.get(f"{_url(number)}?modele=rendez-vous-titres").get_data(as_text=True)
    assert "Ce modèle n&#39;existe pas pour ce service." in html
    assert "ants.gouv.fr" not in html


def test_internal_note_is_hidden_from_the_citizen(app, client, demo_accounts, voirie_ticket):
    number, code = voirie_ticket
    login(client, VOIRIE)
    secret = "Voir avec le chef : budget épuisé."
    assert _post(client, number, "note", body=secret).status_code == 303
    _ticket, entries, events, outbox = _load(app, number)
    assert [e.kind for e in entries] == [EntryKind.INBOUND, EntryKind.NOTE]
    assert "ticket.noted" in [e.action for e in events]
    assert not [m for m in outbox if m.kind == "reply"]
    html = client.get(_url(number)).get_data(as_text=True)
    assert secret in html and "Note interne — non visible par l'usager" in html

    citizen = app.test_client()
    tracking = f"/{DEMO}/suivi"
    token = csrf_token(citizen, tracking)
    page = citizen.post(tracking, data={"code": code, "verifier": "camille.martin@example.org",
                                        "csrf_token": token})
    assert page.status_code == 200
    public_html = page.get_data(as_text=True)
    assert "nid de poule profond" in public_html  # the citizen's own message is there
    assert "budget épuisé" not in public_html


def test_status_change_is_audited(app, client, demo_accounts, voirie_ticket):
    number, _code = voirie_ticket
    login(client, VOIRIE)
    assert _post(client, number, "statut", status="waiting_citizen").status_code == 303
    ticket, _entries, events, _outbox = _load(app, number)
    assert ticket.status == Status.WAITING_CITIZEN
    change = [e for e in events if e.action == "ticket.status_changed"][-1]
    assert change.before == {"status": "new"}
    assert change.after == {"status": "waiting_citizen"}
    assert change.actor_label == "Yves Lebrac"
    html = client.get(_url(number)).get_data(as_text=True)
    assert "Reçue → En attente de l&#39;usager" in html


def test_closing_needs_the_close_right(app, client, demo_accounts, file_request):
    number, _code = file_request(category_code="autre", description="Une question diverse.")
    login(client, "courrier@champignac.example")  # role "courrier": no "close"
    html = client.get(_url(number)).get_data(as_text=True)
    assert 'value="closed"' not in html
    assert _post(client, number, "statut", status="closed").status_code == 403
    assert _load(app, number)[0].status == Status.NEW


def test_take_the_ticket(app, client, demo_accounts, voirie_ticket):
    number, _code = voirie_ticket
    login(client, VOIRIE)
    assert _post(client, number, "prise-en-charge").status_code == 303
    ticket, _entries, events, _outbox = _load(app, number)
    assert ticket.status == Status.IN_PROGRESS
    assert "ticket.assigned" in [e.action for e in events]
    html = client.get(_url(number)).get_data(as_text=True)
    assert "Prendre en charge</button>" not in html


def test_post_without_csrf_token_is_refused(app, client, demo_accounts, voirie_ticket):
    number, _code = voirie_ticket
    login(client, VOIRIE)
    response = client.post(_url(number, "reponse"), data={"body": "x", "status": "answered"})
    assert response.status_code == 400
    assert client.post(_url(number, "note"), data={"body": "x"}).status_code == 400
    assert _load(app, number)[0].status == Status.NEW


def test_elu_may_view_but_not_act(app, client, demo_ctx, voirie_ticket):
    with app.app_context():
        create_agent(db.session, demo_ctx.commune_id, "elu@champignac.example", "Zorglub",
                     "mot-de-passe-de-l-elu", Actor.system("test"), title="Adjoint au maire",
                     memberships=[("cabinet", "elu")])
        db.session.commit()
    number, _code = voirie_ticket
    login(client, "elu@champignac.example", password="mot-de-passe-de-l-elu")
    page = client.get(_url(number))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Envoyer la réponse" not in html and "Prendre en charge" not in html
    assert _post(client, number, "reponse", body="Bonjour", status="answered").status_code == 403
    assert _post(client, number, "note", body="Vu").status_code == 403
    assert _post(client, number, "statut", status="closed").status_code == 403
    assert _post(client, number, "prise-en-charge").status_code == 403
    assert _load(app, number)[0].status == Status.NEW
