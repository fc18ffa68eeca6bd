"""The register in pages of 50, newest first: the 51st line is one "Page suivante" away,
the reader still sees only the details of what they may see, junk page numbers are
harmless."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import DEMO
from tests.functional.dispatch_support import CABINET, COURRIER, signed_in
from ticketing.config.schema import Channel
from ticketing.models import Agent, RegisterEntry, TicketCopy
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
from ticketing.web.extensions import db

INDEX = f"/{DEMO}/agent/enregistrer"
LINE = re.compile(r'<th scope="row">(?:<a href="[^"]+">)?(R2026-\d{6})')


@pytest.fixture
def register(app, demo_accounts) -> list[str]:  # type: ignore[no-untyped-def]
    """55 letters registered by the cabinet, one a minute, oldest first: the even ones are
    for the courrier service, the odd ones for voirie (the first one copied to courrier)."""
    ctx = app.extensions["aiguillage"].context(DEMO)
    start = datetime.now(UTC) - timedelta(hours=2)
    numbers = []
    with app.app_context():
        cabinet = db.session.scalars(select(Agent).where(Agent.email == CABINET)).one()
        for i in range(55):
            ticket = submit_request(db.session, ctx, IntakeRequest(
                channel=Channel.LETTER, description=f"Courrier n° {i} de Mme Lenoir.",
                subject=f"Lettre {i}", received_at=start,
                forced_service="courrier" if i % 2 == 0 else "voirie",
                citizen=CitizenDetails(last_name="Lenoir", first_name="Alice")),
                Actor.agent(cabinet))
            numbers.append(f"R2026-{i + 1:06d}")
            db.session.add(RegisterEntry(commune_id=ctx.commune_id, ticket=ticket,
                                         number=numbers[-1], registered_by_id=cabinet.id,
                                         registered_at=start + timedelta(minutes=i)))
            if i == 1:
                db.session.add(TicketCopy(commune_id=ctx.commune_id, ticket_id=ticket.id,
                                          service_code="courrier",
                                          created_by_agent_id=cabinet.id))
        db.session.commit()
    return numbers


def _lines(html: str) -> list[str]:
    return LINE.findall(html)


def test_the_51st_line_of_the_register_is_on_the_second_page(app, register):
    client = signed_in(app, CABINET)
    first = client.get(INDEX).get_data(as_text=True)
    newest_first = register[::-1]
    assert _lines(first) == newest_first[:50]
    assert "55 enregistrements au registre." in first and "Lignes 1 à 50 sur 55" in first
    assert f'href="{INDEX}?page=2" rel="next">Page suivante' in first

    second = client.get(f"{INDEX}?page=2").get_data(as_text=True)
    assert _lines(second) == newest_first[50:]  # the five oldest, the very first included
    assert "Lettre 0" in second and "Page 2 sur 2" in second
    assert f'href="{INDEX}" rel="prev">Page précédente' in second


def test_each_page_shows_only_what_the_reader_may_see(app, register):
    client = signed_in(app, COURRIER)  # views the courrier service only
    second = client.get(f"{INDEX}?page=2").get_data(as_text=True)  # lines 0 to 4
    assert _lines(second) == register[4::-1]
    for i, number in enumerate(register[:5]):
        linked = f"/agent/enregistrer/fait/{number}\"" in second
        # Courrier's own tickets, and the voirie one copied to courrier, are readable.
        assert linked == (i % 2 == 0 or i == 1), number
        assert (f"Lettre {i}<" in second) == linked
    assert second.count("(demande d'un service que vous ne consultez pas)") == 1  # n° 3


@pytest.mark.parametrize("junk", ["abc", "0", "-3", "2.0", "", "%20", "1e1", "²", "9" * 30])
def test_a_junk_page_number_shows_the_first_page(app, register, junk):
    response = signed_in(app, CABINET).get(f"{INDEX}?page={junk}")
    assert response.status_code == 200
    assert _lines(response.get_data(as_text=True)) == register[::-1][:50]


def test_a_page_past_the_end_shows_the_last_one(app, register):
    html = signed_in(app, CABINET).get(f"{INDEX}?page=7").get_data(as_text=True)
    assert _lines(html) == register[::-1][50:] and "Page 2 sur 2" in html
