"""The queue: only the services an agent may view, filters, paging, and the SQL behind it."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import event, select

from tests.conftest import DEMO, csrf_token, login
from ticketing.models import Status, Ticket
from ticketing.operations.events import Actor
from ticketing.operations.tickets import set_status
from ticketing.web import queries
from ticketing.web.extensions import db

QUEUE = f"/{DEMO}/agent/"
VOIRIE = "agent.voirie@champignac.example"
POTHOLE = "Un nid de poule profond devant le 3 rue des Érables."


def _voirie_ticket(file_request, text: str = POTHOLE) -> str:
    number, _code = file_request(category_code="chaussee", description=text)
    return number


def _eclairage_ticket(file_request) -> str:
    number, _code = file_request(category_code="eclairage-panne")
    return number


def _update(app, number: str, **changes) -> None:  # type: ignore[no-untyped-def]
    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(
            Ticket.commune_id == ctx.commune_id, Ticket.number == number)).one()
        status = changes.pop("status", None)
        if status is not None:
            set_status(db.session, ticket, status, Actor.system("test"), ctx.config)
        for name, value in changes.items():
            setattr(ticket, name, value)
        db.session.commit()


def _numbers(html: str) -> set[str]:
    return set(re.findall(r"/agent/tickets/([0-9-]+)", html))


def test_queue_shows_only_the_services_the_agent_can_view(client, demo_accounts, file_request):
    voirie = _voirie_ticket(file_request)
    eclairage = _eclairage_ticket(file_request)
    login(client, VOIRIE)
    html = client.get(QUEUE).get_data(as_text=True)
    assert _numbers(html) == {voirie}
    assert "Voirie" in html and "Formulaire en ligne" in html and "Reçue" in html
    # A service outside the agent's rights in the URL is ignored, not obeyed.
    html = client.get(f"{QUEUE}?service=eclairage").get_data(as_text=True)
    assert eclairage not in _numbers(html)


def test_cabinet_sees_every_service(client, demo_accounts, file_request):
    voirie = _voirie_ticket(file_request)
    eclairage = _eclairage_ticket(file_request)
    login(client, "cabinet@champignac.example")
    html = client.get(QUEUE).get_data(as_text=True)
    assert _numbers(html) == {voirie, eclairage}
    html = client.get(f"{QUEUE}?service=eclairage").get_data(as_text=True)
    assert _numbers(html) == {eclairage}


def test_status_filter(app, client, demo_accounts, file_request):
    open_one = _voirie_ticket(file_request)
    closed = _voirie_ticket(file_request, "Chaussée déformée rue du Moulin.")
    _update(app, closed, status=Status.CLOSED)
    login(client, VOIRIE)
    assert _numbers(client.get(QUEUE).get_data(as_text=True)) == {open_one}
    closed_page = client.get(f"{QUEUE}?status=closed").get_data(as_text=True)
    assert _numbers(closed_page) == {closed}
    assert _numbers(client.get(f"{QUEUE}?status=all").get_data(as_text=True)) == {open_one, closed}
    assert _numbers(client.get(f"{QUEUE}?status=bogus").get_data(as_text=True)) == {open_one}


def test_overdue_filter_and_badge(app, client, demo_accounts, file_request):
    late = _voirie_ticket(file_request)
    on_time = _voirie_ticket(file_request, "Bitume arraché place de l'Église.")
    _update(app, late, answer_due_on=date.today() - timedelta(days=3))
    login(client, VOIRIE)
    html = client.get(QUEUE).get_data(as_text=True)
    assert _numbers(html) == {late, on_time}
    assert html.count("badge-overdue\">En retard") == 1
    # Sorted by due date: the late one comes first.
    assert html.index(late) < html.index(on_time)
    assert _numbers(client.get(f"{QUEUE}?overdue=1").get_data(as_text=True)) == {late}


def test_mine_filter(client, demo_accounts, file_request):
    taken = _voirie_ticket(file_request)
    other = _voirie_ticket(file_request, "Goudron fondu rue Haute.")
    login(client, VOIRIE)
    url = f"/{DEMO}/agent/tickets/{taken}"
    response = client.post(f"{url}/prise-en-charge", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 303
    assert _numbers(client.get(f"{QUEUE}?mine=1").get_data(as_text=True)) == {taken}
    html = client.get(QUEUE).get_data(as_text=True)
    assert _numbers(html) == {taken, other}
    assert "Yves Lebrac" in html.split(taken, 1)[1]


def test_queue_pages_by_keyset(client, demo_accounts, file_request, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    numbers = {_voirie_ticket(file_request, f"Nid de poule n° {i} rue Longue.") for i in range(3)}
    login(client, VOIRIE)
    first = client.get(QUEUE).get_data(as_text=True)
    assert len(_numbers(first)) == 2
    link = re.search(r'href="([^"]+)" rel="next">Page suivante', first)
    assert link, "no next page link"
    second = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert _numbers(first) | _numbers(second) == numbers
    assert not _numbers(first) & _numbers(second)
    assert "Page suivante" not in second


def test_queue_sql_is_filtered_and_limited_in_the_database(app, client, demo_accounts,
                                                           file_request):
    _voirie_ticket(file_request)
    login(client, VOIRIE)
    statements: list[str] = []

    def capture(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert client.get(f"{QUEUE}?overdue=1&mine=1").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    queue_sql = [s for s in statements if "FROM tickets" in s and "answer_due_on" in s]
    assert queue_sql, statements
    sql = queue_sql[0].lower()
    assert "limit" in sql and "service_code in" in sql.replace("\n", " ")
    assert "assignee_id =" in sql and "answer_due_on <" in sql
    assert not any("count(" in s.lower() for s in statements)


def test_queue_query_uses_the_queue_index_on_sqlite(app, demo_ctx):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return
        stmt = queries.queue_statement(demo_ctx.commune_id, {"voirie", "proprete"},
                                       queries.QueueFilter(), date.today(), 1)
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = db.session.execute(db.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    assert any("ix_tickets_queue" in str(row) for row in plan), plan
