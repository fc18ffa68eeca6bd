"""The public quality page: published only when the commune says so, aggregates only."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from tests.conftest import DEMO, OTHER
from ticketing.config.schema import Channel
from ticketing.domain.deadlines import local_date
from ticketing.models import utcnow
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
from ticketing.web.extensions import db
from ticketing.web.quality import published_period


def _seed(app, ctx, monkeypatch, received: datetime, answered_after: timedelta | None,
          due_after_days: int, subject: str) -> None:
    from ticketing.models import Agent
    from ticketing.operations.tickets import reply_to_citizen

    with app.app_context():
        ticket = submit_request(db.session, ctx, IntakeRequest(
            channel=Channel.EMAIL, category_code="chaussee", received_at=received,
            subject=subject, description="Trou dans la chaussée.",
            citizen=CitizenDetails(last_name="Confidentiel", email="x.confidentiel@example.org"),
        ), Actor.citizen("test"))
        agent = db.session.scalars(db.select(Agent).limit(1)).one()
        if answered_after is not None:
            monkeypatch.setattr("ticketing.operations.tickets.utcnow",
                                lambda: received + answered_after)
            reply_to_citizen(db.session, ctx, ticket, agent, "Réponse.", Actor.agent(agent))
            monkeypatch.undo()
        ticket.answer_due_on = local_date(received, ctx.timezone) + timedelta(days=due_after_days)
        db.session.commit()


def test_published_period_is_the_last_three_complete_months():
    assert published_period(date(2026, 11, 27)) == published_period(date(2026, 11, 1))
    period = published_period(date(2026, 1, 15))
    assert (period.start, period.end) == (date(2025, 10, 1), date(2026, 1, 1))


def test_quality_page_shows_the_published_figures(app, client, demo_ctx, demo_accounts,
                                                  monkeypatch):
    today = local_date(utcnow(), demo_ctx.timezone)
    period = published_period(today)
    start = datetime(period.start.year, period.start.month, 2, 9, tzinfo=UTC)
    # A: answered after 1 day, due after 7: in time. B: answered after 4 days, due after 2:
    # late. C: received this month, outside the published period.
    _seed(app, demo_ctx, monkeypatch, start, timedelta(days=1), 7, "Sujet A très personnel")
    _seed(app, demo_ctx, monkeypatch, start + timedelta(days=1), timedelta(days=4), 2, "B")
    _seed(app, demo_ctx, monkeypatch, datetime.now(UTC), None, 7, "C")
    response = client.get(f"/{DEMO}/qualite")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    figures = dict(re.findall(
        r'<tr><th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', html))
    assert figures["Demandes reçues"] == "2"
    assert figures["Délai de réponse médian"] == "2,5 j"
    assert figures["Réponses dans le délai annoncé"] == "50,0 %"
    assert period.start.strftime("%d/%m/%Y") in html
    assert "<title>Courriel : 2</title>" in html
    for personal in ("Confidentiel", "confidentiel@", "Sujet A", "/agent/tickets/"):
        assert personal not in html
    assert "<script" not in html


def test_quality_page_is_404_unless_the_commune_publishes(client):
    assert client.get(f"/{OTHER}/qualite").status_code == 404
    assert client.get("/nulle-part/qualite").status_code == 404
