"""The audit journal page (view_audit): filters, keyset pages, audited exports; and the
denied accesses it records."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.models import Agent, AuditEvent, Ticket
from ticketing.operations.events import Actor, record_event
from ticketing.web.extensions import db

ADMIN = "admin@champignac.example"
VOIRIE = "agent.voirie@champignac.example"
ECLAIRAGE = "agent.eclairage@champignac.example"
ELU = "elu@champignac.example"
JOURNAL = f"/{DEMO}/agent/admin/journal"
AUDIT_TITLE = re.compile(r"Journal d(&#39;|')audit")
POTHOLE = "Un nid de poule profond devant le 3 rue des Érables."


@pytest.fixture
def voirie_ticket(file_request) -> str:  # type: ignore[no-untyped-def]
    number, _code = file_request(category_code="chaussee", description=POTHOLE,
                                 extra_fields={"adresse": "3 rue des Érables"})
    return number


def _events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        events = list(db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return events


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def _add_events(app, count: int, action: str = "test.event", **fields) -> None:  # type: ignore[no-untyped-def]
    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        for index in range(count):
            event = record_event(db.session, ctx.commune_id, Actor.system(fields.get(
                "label", "Aiguillage")), action, after={"n": index})
            if "created_at" in fields:
                event.created_at = fields["created_at"]
        db.session.commit()


def test_the_journal_shows_logins_in_french(client, demo_accounts):
    login(client, ADMIN)
    page = client.get(JOURNAL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert AUDIT_TITLE.search(html)
    assert "Connexion" in html and "Jules Boulier" in html
    assert POTHOLE not in html


@pytest.mark.parametrize("email", [VOIRIE, ELU])
def test_without_view_audit_the_journal_is_refused_and_the_refusal_logged(
        app, client, demo_accounts, email):
    login(client, email)
    assert client.get(JOURNAL).status_code == 403
    assert client.post(f"{JOURNAL}/export.csv").status_code in (400, 403)
    denied = _events(app, "access_denied")[0]
    assert denied.after == {"path": JOURNAL, "method": "GET", "status": 403,
                            "missing_permission": ["view_audit"]}
    assert denied.actor_agent_id is not None and denied.remote_addr == "127.0.0.1"
    assert not AUDIT_TITLE.search(client.get(f"/{DEMO}/agent/").get_data(as_text=True))


def test_signed_out_visitors_go_to_the_login_page(client, demo_accounts):
    response = client.get(JOURNAL)
    assert response.status_code == 302 and "/agent/connexion" in response.headers["Location"]


def test_a_ticket_out_of_reach_is_404_like_a_missing_one_but_logged(
        app, client, demo_accounts, voirie_ticket):
    login(client, ECLAIRAGE)
    hidden = client.get(f"/{DEMO}/agent/tickets/{voirie_ticket}")
    missing = client.get(f"/{DEMO}/agent/tickets/2099-999999")
    assert hidden.status_code == missing.status_code == 404
    assert voirie_ticket not in hidden.get_data(as_text=True)
    assert hidden.get_data(as_text=True).replace(voirie_ticket, "") == \
        missing.get_data(as_text=True).replace("2099-999999", "")
    [denied] = _events(app, "access_denied")
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.number == voirie_ticket)).one()
    assert denied.after["ticket_id"] == ticket.id
    assert denied.after["ticket_number"] == voirie_ticket
    assert denied.after["status"] == 404 and denied.after["missing_permission"] == ["view"]
    assert denied.actor_label == "Jeanne Fantasio"

    # The journal finds the refusal by the ticket's number...
    admin = app.test_client()
    login(admin, ADMIN)
    rows = _rows(admin.get(JOURNAL, query_string={"demande": voirie_ticket})
                 .get_data(as_text=True))
    assert any("Accès refusé" in row and "Jeanne Fantasio" in row for row in rows)
    # ...but the ticket's own history, which its agents read, does not show it.
    voirie = app.test_client()
    login(voirie, VOIRIE)
    page = voirie.get(f"/{DEMO}/agent/tickets/{voirie_ticket}").get_data(as_text=True)
    assert "Jeanne Fantasio" not in page and "access_denied" not in page


def test_a_forbidden_action_is_logged_with_the_missing_permission(
        app, client, demo_accounts, voirie_ticket):
    login(client, ELU)
    url = f"/{DEMO}/agent/tickets/{voirie_ticket}"
    token = csrf_token(client, url)
    assert client.post(f"{url}/note", data={"body": "Vu", "csrf_token": token}).status_code == 403
    [denied] = _events(app, "access_denied")
    assert denied.after["method"] == "POST" and denied.after["status"] == 403
    assert denied.after["missing_permission"] == ["note"]
    assert denied.after["ticket_number"] == voirie_ticket
    # The note was not written.
    assert _events(app, "ticket.noted") == []


def test_another_guarded_page_refusal_is_logged_too(app, client, demo_accounts):
    login(client, VOIRIE)
    assert client.get(f"/{DEMO}/agent/courriels/quarantaine").status_code == 403
    [denied] = _events(app, "access_denied")
    assert denied.after["path"] == f"/{DEMO}/agent/courriels/quarantaine"


def test_filters_by_action_actor_ticket_and_date(app, client, demo_accounts, voirie_ticket):
    _add_events(app, 2, action="test.yesterday", label="Hier",
                created_at=datetime.now(UTC) - timedelta(days=3))
    login(client, ADMIN)
    with app.app_context():
        admin_id = db.session.scalars(select(Agent.id).where(Agent.email == ADMIN)).one()

    by_action = client.get(JOURNAL, query_string={"action": "ticket.created"})
    assert len(_rows(by_action.get_data(as_text=True))) == 1

    by_actor = _rows(client.get(JOURNAL, query_string={"acteur": f"agent:{admin_id}"})
                     .get_data(as_text=True))
    assert by_actor and all("Jules Boulier" in row for row in by_actor)

    by_ticket = _rows(client.get(JOURNAL, query_string={"demande": voirie_ticket})
                      .get_data(as_text=True))
    assert by_ticket and all(voirie_ticket in row for row in by_ticket)

    paris = ZoneInfo("Europe/Paris")
    today = datetime.now(paris).date().isoformat()
    recent = _rows(client.get(JOURNAL, query_string={"du": today}).get_data(as_text=True))
    assert recent and not any("test.yesterday" in row for row in recent)
    assert any("Demande enregistrée" in row for row in recent)
    day = (datetime.now(paris) - timedelta(days=3)).date().isoformat()
    that_day = _rows(client.get(JOURNAL, query_string={"du": day, "au": day})
                     .get_data(as_text=True))
    assert len(that_day) == 2 and all("test.yesterday" in row for row in that_day)


def test_keyset_pages_walk_the_whole_journal_once(app, client, demo_accounts):
    _add_events(app, 120)
    login(client, ADMIN)
    with app.app_context():
        total = len(db.session.scalars(select(AuditEvent.id)).all())
    seen: list[str] = []
    url: str | None = f"{JOURNAL}?action=test.event"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [re.search(r"<td>(\d+)</td>", row).group(1) for row in _rows(html)]  # type: ignore[union-attr]
        link = re.search(r'href="([^"]*avant=\d+[^"]*)"', html)
        url = link.group(1).replace("&amp;", "&") if link else None
    assert len(seen) == 120 == len(set(seen)) and total > 120
    assert seen == sorted(seen, key=int, reverse=True)


def test_export_follows_the_filters_neutralises_formulas_and_is_audited(app, client,
                                                                          demo_accounts):
    _add_events(app, 3, action="test.export", label="=HYPERLINK(\"http://evil\")")
    login(client, ADMIN)
    token = csrf_token(client, JOURNAL)

    csv = client.post(f"{JOURNAL}/export.csv", data={"csrf_token": token,
                                                     "action": "test.export"})
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    text = csv.get_data().decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 4  # headers and the 3 filtered events
    assert all("'=HYPERLINK" in line for line in lines[1:])

    xlsx = client.post(f"{JOURNAL}/export.xlsx", data={"csrf_token": token})
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    assert sheet.max_row > 4

    exports = _events(app, "audit.exported")
    assert [e.after["format"] for e in exports] == ["csv", "xlsx"]
    assert exports[0].after["rows"] == 3 and exports[0].after["filters"] == {
        "action": "test.export"}
    assert exports[0].actor_label == "Jules Boulier"


def test_export_is_a_post_with_csrf(client, demo_accounts):
    login(client, ADMIN)
    assert client.get(f"{JOURNAL}/export.csv").status_code == 405
    assert client.post(f"{JOURNAL}/export.csv").status_code == 400


def test_the_cabinet_reads_the_journal_but_does_not_manage_agents(client, demo_accounts):
    login(client, "cabinet@champignac.example")
    queue = client.get(f"/{DEMO}/agent/").get_data(as_text=True)
    assert f'href="{JOURNAL}"' in queue
    assert f'href="/{DEMO}/agent/admin/agents"' not in queue
    assert client.get(JOURNAL).status_code == 200
    assert client.get(f"/{DEMO}/agent/admin/agents").status_code == 403
