"""Claim, assign and reassign within the service; the assign right is checked."""

from __future__ import annotations

from sqlalchemy import select

from tests.functional.dispatch_support import (
    CHEF_VOIRIE,
    ELU,
    VOIRIE,
    events,
    load,
    post_action,
    signed_in,
    ticket_url,
)
from ticketing.models import Agent
from ticketing.web.extensions import db


def _agent_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalars(select(Agent.id).where(Agent.email == email)).one()


def test_the_chief_assigns_then_releases_a_ticket(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    page = chef.get(ticket_url(pothole)).get_data(as_text=True)
    assert "Yves Lebrac" in page.split('id="affectation-agent"')[1].split("</select>")[0]
    voirie_id = _agent_id(app, VOIRIE)
    response = post_action(chef, pothole, "affectation", agent=str(voirie_id))
    assert response.status_code == 303
    ticket = load(app, pothole)
    assert ticket.assignee_id == voirie_id and ticket.status == "in_progress"
    response = post_action(chef, pothole, "affectation", agent="")
    assert response.status_code == 303
    assert load(app, pothole).assignee_id is None
    assert [e.after["assignee_id"] for e in events(app, pothole, "ticket.assigned")] == [
        voirie_id, None]


def test_reassign_to_a_colleague(app, pothole):
    agent = signed_in(app, VOIRIE)
    chef_id, voirie_id = _agent_id(app, CHEF_VOIRIE), _agent_id(app, VOIRIE)
    assert post_action(agent, pothole, "affectation", agent=str(voirie_id)).status_code == 303
    assert post_action(agent, pothole, "affectation", agent=str(chef_id)).status_code == 303
    assert load(app, pothole).assignee_id == chef_id


def test_an_agent_of_another_service_cannot_be_chosen(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    other = _agent_id(app, "agent.eclairage@champignac.example")
    response = post_action(chef, pothole, "affectation", agent=str(other))
    assert response.status_code == 422
    assert load(app, pothole).assignee_id is None


def test_a_reader_without_the_assign_right_gets_403(app, pothole):
    response = post_action(signed_in(app, ELU), pothole, "affectation",
                           agent=str(_agent_id(app, VOIRIE)))
    assert response.status_code == 403
    assert load(app, pothole).assignee_id is None
