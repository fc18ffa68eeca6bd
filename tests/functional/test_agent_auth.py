"""Agent sign-in and out, session handling, commune isolation, CSRF."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import DEMO, DEMO_PASSWORD, OTHER, csrf_token, login
from ticketing.models import Agent, AuditEvent
from ticketing.web.extensions import db

LOGIN = f"/{DEMO}/agent/connexion"
QUEUE = f"/{DEMO}/agent/"
VOIRIE = "agent.voirie@champignac.example"


def test_login_page_renders_a_form(client, demo_accounts):
    page = client.get(LOGIN)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html
    assert "Connexion des agents" in html
    assert '"None"' not in html  # no attribute printed as the string None


def test_login_success_leads_to_the_queue(client, demo_accounts):
    response = login(client, VOIRIE)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(QUEUE)
    page = client.get(QUEUE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "File d'attente" in html
    assert "Yves Lebrac" in html
    assert "Se déconnecter" in html


def test_unknown_address_and_wrong_password_get_the_same_answer(app, client, demo_accounts):
    wrong_password = login(client, VOIRIE, password="pas-le-bon-mot-de-passe")
    unknown = login(client, "personne@champignac.example")
    for response in (wrong_password, unknown):
        assert response.status_code == wrong_password.status_code
        assert "Adresse ou mot de passe incorrect." in response.get_data(as_text=True)
    assert client.get(QUEUE).status_code == 302  # still not signed in
    with app.app_context():
        failed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert len(failed) == 2


def test_login_is_rate_limited(app, client, demo_accounts):
    limit = int(app.extensions["aiguillage"].settings.login_limit.split()[0])
    token = csrf_token(client, LOGIN)
    data = {"email": VOIRIE, "password": "mauvais-mot-de-passe", "csrf_token": token}
    for _ in range(limit):
        assert client.post(LOGIN, data=data).status_code != 429
    blocked = client.post(LOGIN, data=data)
    assert blocked.status_code == 429
    assert "Trop de tentatives" in blocked.get_data(as_text=True)
    assert client.get(LOGIN).status_code == 200  # only attempts are limited


def test_session_is_renewed_at_login(client, demo_accounts):
    client.get(LOGIN)
    before = client.get_cookie("session")
    assert before is not None
    login(client, VOIRIE)
    after = client.get_cookie("session")
    assert after is not None and after.value != before.value


def test_logout(client, demo_accounts):
    login(client, VOIRIE)
    token = csrf_token(client, QUEUE)
    response = client.post(f"/{DEMO}/agent/deconnexion", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(LOGIN)
    assert client.get(QUEUE).status_code == 302


def test_logout_without_csrf_token_is_refused(client, demo_accounts):
    login(client, VOIRIE)
    assert client.post(f"/{DEMO}/agent/deconnexion").status_code == 400
    assert client.get(QUEUE).status_code == 200


def test_anonymous_visitor_is_sent_to_login_then_back(client, demo_accounts):
    response = client.get(f"/{DEMO}/agent/?status=all")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "/agent/connexion?next=" in location
    token = csrf_token(client, location)
    back = client.post(location, data={"email": VOIRIE, "password": DEMO_PASSWORD,
                                       "csrf_token": token})
    assert back.status_code == 303
    assert back.headers["Location"].endswith(f"/{DEMO}/agent/?status=all")


def test_next_must_be_a_local_agent_path(client, demo_accounts):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example",
                   f"/{OTHER}/agent/"):
        url = f"{LOGIN}?next={target}"
        token = csrf_token(client, url)
        response = client.post(url, data={"email": VOIRIE, "password": DEMO_PASSWORD,
                                          "csrf_token": token})
        assert response.status_code == 303
        assert response.headers["Location"].endswith(QUEUE), target
        client.post(f"/{DEMO}/agent/deconnexion", data={"csrf_token": csrf_token(client, QUEUE)})


def test_agent_of_another_commune_gets_404(client, demo_accounts, file_request):
    number, _code = file_request()
    assert login(client, "accueil@trifouillis.example", commune=OTHER).status_code == 303
    assert client.get(f"/{OTHER}/agent/").status_code == 200
    assert client.get(QUEUE).status_code == 404
    assert client.get(f"/{DEMO}/agent/tickets/{number}").status_code == 404


def test_unknown_commune_has_no_agent_pages(client):
    assert client.get("/nulle-part/agent/connexion").status_code == 404
    assert client.get("/nulle-part/agent/").status_code == 404


def test_deactivated_agent_is_signed_out(app, client, demo_accounts):
    login(client, VOIRIE)
    with app.app_context():
        agent = db.session.scalars(select(Agent).where(Agent.email == VOIRIE)).one()
        agent.active = False
        db.session.commit()
    assert client.get(QUEUE).status_code == 302
    assert login(client, VOIRIE).status_code != 303
