"""Reopen a closed ticket: the reopen right, a reason, audited, counted by the pilot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import csrf_token
from tests.functional.dispatch_support import (
    CHEF_VOIRIE,
    POTHOLE,
    VOIRIE,
    events,
    load,
    post_action,
    signed_in,
    ticket_url,
)
from ticketing.reporting.filters import Period, PilotFilter
from ticketing.reporting.indicators import compute_indicators
from ticketing.web.extensions import db


@pytest.fixture
def answered_and_closed(app, file_request, demo_accounts) -> str:
    number, _ = file_request(category_code="chaussee", description=POTHOLE,
                             extra_fields={"adresse": "3 rue des Érables"})
    client = signed_in(app, VOIRIE)
    token = csrf_token(client, ticket_url(number))
    response = client.post(ticket_url(number, "reponse"), data={
        "csrf_token": token, "subject": "", "body": "C'est réparé.", "status": "closed"})
    assert response.status_code == 303
    assert load(app, number).status == "closed"
    return number


def _reopen_rate(app, demo_ctx):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with app.app_context():
        indicators = compute_indicators(
            db.session, demo_ctx.commune_id, set(demo_ctx.config.services), PilotFilter(),
            demo_ctx.config, Period(now.date() - timedelta(days=2), now.date() + timedelta(2)),
            now)
    return indicators.reopened.part, indicators.reopened.whole


def test_the_chief_reopens_with_a_reason_and_the_pilot_counts_it(app, demo_ctx,
                                                                  answered_and_closed):
    number = answered_and_closed
    due = load(app, number).answer_due_on
    assert _reopen_rate(app, demo_ctx) == (0, 1)
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, number, "reouverture",
                           reason="L'usager signale que le trou est revenu.")
    assert response.status_code == 303
    ticket = load(app, number)
    assert ticket.status == "in_progress" and ticket.closed_at is None
    assert ticket.answer_due_on == due  # the due date stays
    [event] = [e for e in events(app, number, "ticket.status_changed")
               if e.after.get("reopened")]
    assert event.before["status"] == "closed" and "revenu" in event.after["reason"]
    assert _reopen_rate(app, demo_ctx) == (1, 1)
    page = chef.get(ticket_url(number)).get_data(as_text=True)
    assert "réouverture : Clôturée → En cours de traitement" in page


def test_reopen_needs_a_reason(app, answered_and_closed):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, answered_and_closed, "reouverture", reason="")
    assert response.status_code == 422
    assert load(app, answered_and_closed).status == "closed"


def test_an_agent_without_the_reopen_right_gets_403(app, answered_and_closed):
    agent = signed_in(app, VOIRIE)  # the "agent" role has no "reopen"
    assert "reouverture-motif" not in agent.get(ticket_url(answered_and_closed)).get_data(
        as_text=True)
    response = post_action(agent, answered_and_closed, "reouverture", reason="Encore")
    assert response.status_code == 403
    assert load(app, answered_and_closed).status == "closed"


def test_an_open_ticket_cannot_be_reopened(app, file_request, demo_accounts):
    number, _ = file_request(category_code="chaussee", description=POTHOLE,
                             extra_fields={"adresse": "3 rue des Érables"})
    response = post_action(signed_in(app, CHEF_VOIRIE), number, "reouverture", reason="?")
    assert response.status_code == 422
    assert load(app, number).status == "new"
