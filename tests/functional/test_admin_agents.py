"""The administrator's agents pages: list, create, roles, deactivation; all audited."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, OTHER, csrf_token, login
from ticketing.models import Agent, AuditEvent, Membership, OutboxMessage
from ticketing.web.extensions import db

ADMIN = "admin@champignac.example"
CABINET = "cabinet@champignac.example"
VOIRIE = "agent.voirie@champignac.example"
AGENTS = f"/{DEMO}/agent/admin/agents"


def _agent(app, email: str) -> Agent:  # type: ignore[no-untyped-def]
    with app.app_context():
        agent = db.session.scalars(select(Agent).where(Agent.email == email)).one()
        db.session.expunge(agent)
        return agent


def _events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _post(client, page: str, url: str, **data):  # type: ignore[no-untyped-def]
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data})


def test_the_list_shows_accounts_roles_and_last_login(client, demo_accounts):
    login(client, ADMIN)
    html = client.get(AGENTS).get_data(as_text=True)
    assert "Léon Prunelle" in html and "chef.voirie@champignac.example" in html
    assert "Voirie" in html and "Chef de service" in html
    assert "jamais" in html  # agents who never signed in
    assert "Aimé Demaison" not in html  # Trifouillis' agent is another commune's
    # Navigation: both entries for the administrator.
    assert f'href="{AGENTS}"' in html and f'href="/{DEMO}/agent/admin/journal"' in html


@pytest.mark.parametrize("email, status", [(VOIRIE, 403), (CABINET, 403)])
def test_only_manage_users_opens_the_agents_pages(client, demo_accounts, email, status):
    login(client, email)
    assert client.get(AGENTS).status_code == status
    assert f'href="{AGENTS}"' not in client.get(f"/{DEMO}/agent/").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_the_login_page(client, demo_accounts):
    response = client.get(AGENTS)
    assert response.status_code == 302
    assert "/agent/connexion" in response.headers["Location"]


def test_another_communes_agent_is_not_found(app, client, demo_accounts):
    other = _agent(app, "accueil@trifouillis.example")
    login(client, ADMIN)
    assert client.get(f"{AGENTS}/{other.id}").status_code == 404
    # And the admin of one commune has no agents pages in another.
    assert client.get(f"/{OTHER}/agent/admin/agents").status_code == 404


def test_creating_an_agent_mails_an_invitation_and_is_audited(app, client, demo_accounts):
    login(client, ADMIN)
    response = _post(client, f"{AGENTS}/nouveau", f"{AGENTS}/nouveau",
                     email="Nouvelle.Recrue@champignac.example", full_name="Nouvelle Recrue",
                     title="Agente d'accueil", service="voirie", role="agent")
    assert response.status_code == 303
    created = _agent(app, "nouvelle.recrue@champignac.example")
    assert response.headers["Location"].endswith(f"{AGENTS}/{created.id}")
    with app.app_context():
        memberships = db.session.scalars(
            select(Membership).where(Membership.agent_id == created.id)).all()
        mails = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.to_address == "nouvelle.recrue@champignac.example")).all()
    assert [(m.service_code, m.role_code) for m in memberships] == [("voirie", "agent")]
    assert len(mails) == 1 and "/agent/mot-de-passe/" in mails[0].body_text
    event = _events(app, "agent.created")[-1]
    assert event.actor_label == "Jules Boulier" and event.after["email"] == created.email
    # No password works for the new account until the agent chooses one.
    assert login(app.test_client(), created.email, password="!").status_code != 303


def test_duplicate_address_and_unknown_role_are_refused(app, client, demo_accounts):
    login(client, ADMIN)
    page = f"{AGENTS}/nouveau"
    duplicate = _post(client, page, page, email=VOIRIE, full_name="Doublon")
    assert "Un agent a déjà l&#39;adresse" in duplicate.get_data(as_text=True)
    forged = _post(client, page, page, email="x@champignac.example", full_name="X",
                   service="voirie", role="maire_tout_puissant")
    assert forged.status_code == 200  # not a choice of the form: refused, nothing created
    with app.app_context():
        assert db.session.scalars(select(Agent).where(
            Agent.email == "x@champignac.example")).first() is None


def test_granting_and_revoking_a_role(app, client, demo_accounts):
    target = _agent(app, "agent.eclairage@champignac.example")
    page = f"{AGENTS}/{target.id}"
    login(client, ADMIN)
    assert _post(client, page, f"{page}/roles", service="voirie", role="chef_de_service"
                 ).status_code == 303
    granted = _events(app, "agent.role_granted")[-1]
    assert granted.after == {"agent_id": target.id, "email": target.email, "service": "voirie",
                             "role": "chef_de_service", "ticket_access": True}
    assert granted.actor_label == "Jules Boulier"

    html = client.get(page).get_data(as_text=True)
    membership_id = re.search(r"/roles/(\d+)/retirer", html).group(1)  # type: ignore[union-attr]
    assert _post(client, page, f"{page}/roles/{membership_id}/retirer").status_code == 303
    assert _events(app, "agent.role_revoked")[-1].before["role"] in {"agent", "chef_de_service"}


def test_an_administrator_cannot_change_their_own_roles(app, client, demo_accounts):
    admin = _agent(app, ADMIN)
    page = f"{AGENTS}/{admin.id}"
    login(client, ADMIN)
    html = client.get(page).get_data(as_text=True)
    assert "un autre administrateur" in html and "Attribuer ce rôle" not in html
    refused = _post(client, page, f"{page}/roles", service="voirie", role="chef_de_service")
    assert "propres rôles" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert _events(app, "agent.role_granted") == []


def test_the_last_administrator_keeps_the_right(app, client, demo_accounts):
    """A second administrator may not take the right from the only other active one."""
    from ticketing.operations.events import Actor
    from ticketing.operations.staff import StaffChangeRefused, deactivate, revoke_role

    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        admin = db.session.scalars(select(Agent).where(Agent.email == ADMIN)).one()
        cabinet = db.session.scalars(select(Agent).where(Agent.email == CABINET)).one()
        with pytest.raises(StaffChangeRefused, match="dernier compte actif"):
            revoke_role(db.session, ctx, Actor.agent(cabinet), admin, admin.memberships[0])
        with pytest.raises(StaffChangeRefused, match="dernier compte actif"):
            deactivate(db.session, ctx, Actor.agent(cabinet), admin)
        db.session.rollback()


def test_a_deactivated_agent_is_signed_out_at_the_next_request(app, client, demo_accounts):
    voirie = app.test_client()
    login(voirie, VOIRIE)
    assert voirie.get(f"/{DEMO}/agent/").status_code == 200
    target = _agent(app, VOIRIE)
    page = f"{AGENTS}/{target.id}"
    login(client, ADMIN)

    assert _post(client, page, f"{page}/desactiver").status_code == 303

    response = voirie.get(f"/{DEMO}/agent/")
    assert response.status_code == 302 and "/agent/connexion" in response.headers["Location"]
    assert login(voirie, VOIRIE).status_code != 303  # and cannot sign in again
    assert _events(app, "agent.deactivated")[-1].after["agent_id"] == target.id
    assert "Désactivé" in client.get(AGENTS).get_data(as_text=True)

    assert _post(client, page, f"{page}/reactiver").status_code == 303
    # Reactivation does not revive the old session: the agent signs in again.
    assert voirie.get(f"/{DEMO}/agent/").status_code == 302
    assert login(voirie, VOIRIE).status_code == 303


def test_identity_change_is_audited_with_before_and_after(app, client, demo_accounts):
    target = _agent(app, VOIRIE)
    page = f"{AGENTS}/{target.id}"
    login(client, ADMIN)
    _post(client, page, f"{page}/identite", full_name="Yves Lebrac", title="Chef d'équipe")
    event = _events(app, "agent.updated")[-1]
    assert event.before["title"] == "Technicien voirie" and event.after["title"] == "Chef d'équipe"


def test_state_changes_need_the_csrf_token(app, client, demo_accounts):
    target = _agent(app, VOIRIE)
    login(client, ADMIN)
    assert client.post(f"{AGENTS}/{target.id}/desactiver").status_code == 400
    assert _agent(app, VOIRIE).active


def test_a_new_password_link_can_be_sent_again(app, client, demo_accounts):
    target = _agent(app, VOIRIE)
    page = f"{AGENTS}/{target.id}"
    login(client, ADMIN)
    assert _post(client, page, f"{page}/invitation").status_code == 303
    [sent] = _events(app, "password.link_sent")
    assert sent.actor_label == "Jules Boulier" and sent.after["agent_id"] == target.id
    with app.app_context():
        assert db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.to_address == VOIRIE)).first() is not None


def test_an_invalid_identity_is_refused_with_a_message(app, client, demo_accounts):
    target = _agent(app, VOIRIE)
    page = f"{AGENTS}/{target.id}"
    login(client, ADMIN)
    response = _post(client, page, f"{page}/identite", full_name="", title="")
    assert response.status_code == 303
    assert "Indiquez le nom" in client.get(page).get_data(as_text=True)
    assert _agent(app, VOIRIE).full_name == "Yves Lebrac"


def test_an_administrator_removes_a_lost_second_factor(app, client, demo_accounts):
    """A lost phone: the administrator takes the second factor off; the agent signs in with
    the password alone, and the journal says who did it."""
    from datetime import UTC, datetime

    from ticketing.domain.secret_box import seal

    key = app.extensions["aiguillage"].settings.secret_key.encode()
    with app.app_context():
        agent = db.session.scalars(select(Agent).where(Agent.email == VOIRIE)).one()
        agent.totp_secret = seal("JBSWY3DPEHPK3PXP", key)
        agent.totp_enabled_at = datetime.now(UTC)
        db.session.commit()
    voirie = app.test_client()
    asked = login(voirie, VOIRIE)
    assert asked.headers["Location"].endswith("/agent/connexion/code")  # the code is asked

    login(client, ADMIN)
    page = f"{AGENTS}/{_agent(app, VOIRIE).id}"
    assert "Retirer la double authentification" in client.get(page).get_data(as_text=True)
    done = _post(client, page, f"{page}/double-authentification/retirer")
    assert done.status_code == 303
    assert _agent(app, VOIRIE).totp_enabled_at is None and not _agent(app, VOIRIE).totp_secret
    [event] = _events(app, "totp.disabled")
    assert event.actor_agent_id == _agent(app, ADMIN).id

    again = login(app.test_client(), VOIRIE)
    assert again.status_code == 303 and again.headers["Location"].endswith("/agent/")


def test_an_administrator_cannot_remove_their_own_second_factor_here(app, client, demo_accounts):
    from datetime import UTC, datetime

    login(client, ADMIN)  # then enrolled (as if from "Mon compte")
    with app.app_context():
        admin = db.session.scalars(select(Agent).where(Agent.email == ADMIN)).one()
        admin.totp_enabled_at = datetime.now(UTC)
        admin_id = admin.id
        db.session.commit()
    page = f"{AGENTS}/{admin_id}"
    refused = _post(client, page, f"{page}/double-authentification/retirer")
    assert refused.status_code == 303
    assert _agent(app, ADMIN).totp_enabled_at is not None
    assert _events(app, "totp.disabled") == []
