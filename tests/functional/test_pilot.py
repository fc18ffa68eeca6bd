"""The cabinet pilot: its figures against a seeded data set computed by hand, its rights,
its filters and its exports (formula injection neutralised on every export path)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import DEMO, login
from ticketing.config.schema import Channel
from ticketing.domain.deadlines import local_date
from ticketing.models import Agent, Status, utcnow
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails, IntakeRequest, submit_request
from ticketing.operations.tickets import assign, reply_to_citizen, set_status
from ticketing.web.extensions import db

PILOT = f"/{DEMO}/agent/pilotage"
CABINET = "cabinet@champignac.example"
CHEF_VOIRIE = "chef.voirie@champignac.example"
AGENT_VOIRIE = "agent.voirie@champignac.example"
# The seeded period: two weeks of March 2025 (no public holiday), Paris time (UTC+1).
PERIOD = "du=2025-03-03&au=2025-03-16"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def _today() -> date:
    return local_date(utcnow(), "Europe/Paris")


def _file(session, ctx, channel, category, received, subject="", **place):  # type: ignore[no-untyped-def]
    return submit_request(session, ctx, IntakeRequest(
        channel=channel, category_code=category, received_at=received, subject=subject,
        citizen=CitizenDetails(last_name="Dupont-Secret", first_name="Ana",
                               email="ana.secret@example.org"),
        description="Demande de test du pilotage.", **place,
    ), Actor.citizen("test"))


def _reply_at(session, ctx, ticket, agent, moment, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("ticketing.operations.tickets.utcnow", lambda: moment)
    reply_to_citizen(session, ctx, ticket, agent, "Voici notre réponse.", Actor.agent(agent))
    monkeypatch.undo()


@pytest.fixture
def seeded(app, demo_ctx, demo_accounts, monkeypatch):  # type: ignore[no-untyped-def]
    """Nine tickets; every figure the tests expect is worked out in the comments.

    T0 counter/suggestion (cabinet)  received 02/03 23:30Z = Mon 03/03 00:30 Paris (inside)
       ack 03/03; unanswered; due today+10 (not late yet: outside "answered in time").
    T1 web/chaussee (voirie)   Mon 03/03 ack 03/03   due 10/03 answered 04/03 (1 day)  in time
    T2 email/chaussee (voirie) Tue 03/04 ack 05/03   due 11/03 answered 06/03 (2 days) in time
       then closed (answered → closed is not a reopening)
    T3 letter/eclairage        Fri 03/07 ack Mon 10/03 (1 working day) due 10/03,
       answered 10/03 21:00Z = 22:00 Paris (3.5 days): in time
    T4 phone/eclairage         Sat 08/03 11:30Z ack Tue 11/03 (late: due Mon 10/03)
       due 12/03, answered 12/03 23:30Z = 13/03 00:30 Paris (4.5 days): late by local date
    T5 web/reclamation (cabinet) Mon 10/03 never acknowledged, due 14/03, answered 20/03
       (10 days, late), then reopened (answered → in progress): open and overdue
    T6 email/chaussee          Wed 12/03 ack 12/03, due 19/03, unanswered: overdue
    T7 web/chaussee            Thu 13/03 ack 13/03, due today+2: soon due; zone les-cepes
    T8 web/chaussee            16/03 23:30Z = Mon 17/03 Paris (outside the period), due
       yesterday, taken by Yves Lebrac: overdue; zone centre-bourg, on the map
    """
    # Its own app context, popped before the test's requests (which would otherwise share
    # its ``g``, hence the signed-in user).
    with app.app_context():
        return _seed(db.session, demo_ctx, monkeypatch)


def _seed(session, ctx, monkeypatch):  # type: ignore[no-untyped-def]
    today = _today()
    cabinet = session.scalars(select(Agent).where(Agent.email == CABINET)).one()
    yves = session.scalars(select(Agent).where(Agent.email == AGENT_VOIRIE)).one()
    center = ctx.config.commune.map.center
    t = {
        0: _file(session, ctx, Channel.COUNTER, "suggestion", utc(2, 23, 30)),
        1: _file(session, ctx, Channel.WEB, "chaussee", utc(3, 9)),
        2: _file(session, ctx, Channel.EMAIL, "chaussee", utc(4, 9)),
        3: _file(session, ctx, Channel.LETTER, "eclairage-panne", utc(7, 9)),
        4: _file(session, ctx, Channel.PHONE, "eclairage-panne", utc(8, 11, 30)),
        5: _file(session, ctx, Channel.WEB, "reclamation", utc(10, 9),
                 subject="=HYPERLINK(\"http://evil.example\",\"clic\")"),
        6: _file(session, ctx, Channel.EMAIL, "chaussee", utc(12, 9), subject="+33 1 23",
                 latitude=48.8566, longitude=2.3522),  # Paris: outside the commune's map
        7: _file(session, ctx, Channel.WEB, "chaussee", utc(13, 9), subject="-2+3",
                 zone_code="les-cepes", latitude=center.lat + 0.002,
                 longitude=center.lon - 0.003),
        8: _file(session, ctx, Channel.WEB, "chaussee", utc(16, 23, 30), subject="@SUM(A1)",
                 zone_code="centre-bourg", latitude=center.lat - 0.001,
                 longitude=center.lon + 0.002),
    }
    session.flush()
    _reply_at(session, ctx, t[1], cabinet, utc(4, 9), monkeypatch)
    _reply_at(session, ctx, t[2], cabinet, utc(6, 9), monkeypatch)
    set_status(session, t[2], Status.CLOSED, Actor.agent(cabinet), ctx.config)
    _reply_at(session, ctx, t[3], cabinet, utc(10, 21), monkeypatch)
    _reply_at(session, ctx, t[4], cabinet, utc(12, 23, 30), monkeypatch)
    _reply_at(session, ctx, t[5], cabinet, utc(20, 9), monkeypatch)
    set_status(session, t[5], Status.IN_PROGRESS, Actor.agent(cabinet), ctx.config)
    assign(session, t[8], yves, Actor.agent(yves))
    # Due dates and acknowledgements set as the deadline rules and the outbox would have.
    due = {0: today + timedelta(days=10), 1: date(2025, 3, 10), 2: date(2025, 3, 11),
           3: date(2025, 3, 10), 4: date(2025, 3, 12), 5: date(2025, 3, 14),
           6: date(2025, 3, 19), 7: today + timedelta(days=2), 8: today - timedelta(days=1)}
    acked = {0: utc(3, 10), 1: utc(3, 9, 5), 2: utc(5, 15), 3: utc(10, 8), 4: utc(11, 9),
             5: None, 6: utc(12, 10), 7: utc(13, 10), 8: utc(17, 9)}
    for key, ticket in t.items():
        ticket.answer_due_on = due[key]
        ticket.acknowledged_at = acked[key]
    numbers = {key: ticket.number for key, ticket in t.items()}
    session.commit()
    return numbers


def _indicator_table(html: str) -> dict[str, str]:
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', html)
    return dict(rows)


def test_indicators_match_the_hand_computed_figures(client, seeded):
    login(client, CABINET)
    response = client.get(f"{PILOT}/indicateurs?{PERIOD}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    figures = _indicator_table(html)
    assert figures["Demandes reçues"] == "8"  # T0..T7; T8 is Monday 17/03 in Paris
    assert figures["Demandes ayant reçu une réponse"] == "5"  # T1..T5
    # Durations 1, 2, 3.5, 4.5, 10 days: median 3.5; p90 at rank 3.6: 4.5 + 0.6 × 5.5 = 7.8.
    assert figures["Délai de réponse médian"] == "3,5 j"
    assert figures["Délai de réponse (90e centile)"] == "7,8 j"
    # In time: T1, T2, T3; late: T4 (local date), T5, T6 (unanswered, past due) → 3 of 6.
    assert figures["Réponses dans le délai annoncé"] == "50,0 %"
    # Acknowledged within one working day: T0, T1, T2, T3 (Fri → Mon), T6, T7; not T4
    # (Sat → Tue), nor T5 (never) → 6 of 8.
    assert figures["Accusés de réception en un jour ouvré"] == "75,0 %"
    assert figures["Taux de réouverture"] == "20,0 %"  # T5 of the 5 answered
    assert "3 sur 6" in html and "6 sur 8" in html and "1 sur 5" in html
    # Charts: volumes per channel (web 3, email 2, letter, phone, counter 1) and per week.
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in html
    assert "<title>Formulaire en ligne : 3</title>" in html
    assert "<title>Courriel : 2</title>" in html
    assert "<title>Chaussée abîmée, nid-de-poule : 4</title>" in html
    assert "<title>03/03 : 5</title>" in html and "<title>10/03 : 3</title>" in html
    assert "<script" not in html


def test_indicators_cover_only_the_readers_services_and_the_filters(app, client, seeded):
    login(client, CHEF_VOIRIE)  # chef de service: view_dashboard on voirie only
    figures = _indicator_table(client.get(f"{PILOT}/indicateurs?{PERIOD}").get_data(
        as_text=True))
    assert figures["Demandes reçues"] == "4"  # T1, T2, T6, T7
    assert figures["Délai de réponse médian"] == "1,5 j"  # 1 and 2 days
    assert figures["Réponses dans le délai annoncé"] == "66,7 %"  # T1, T2 of T1, T2, T6
    client = app.test_client()
    login(client, CABINET)
    html = client.get(f"{PILOT}/indicateurs?{PERIOD}&canal=web").get_data(as_text=True)
    assert _indicator_table(html)["Demandes reçues"] == "3"  # T1, T5, T7
    html = client.get(f"{PILOT}/indicateurs?{PERIOD}&canal=fax").get_data(as_text=True)
    assert _indicator_table(html)["Demandes reçues"] == "8"  # unknown value: ignored


def test_invalid_period_falls_back_to_the_last_30_days(client, seeded):
    login(client, CABINET)
    response = client.get(f"{PILOT}/indicateurs?du=2025-03-16&au=2025-03-03")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Période invalide" in html
    start = _today() - timedelta(days=29)
    assert f'value="{start.isoformat()}"' in html
    assert client.get(f"{PILOT}/indicateurs").status_code == 200


def _group_rows(html: str, caption: str) -> dict[str, tuple[int, ...]]:
    table = html.split(f"<caption>{caption}</caption>", 1)[1].split("</table>", 1)[0]
    found = {}
    for label, cells in re.findall(r'<th scope="row">([^<]*)</th>(.*?)</tr>', table, re.S):
        found[label] = tuple(int(v) for v in re.findall(r">(\d+)</td>", cells))
    return found


def test_dashboard_groups_late_and_soon_due_tickets_by_service_and_agent(client, seeded):
    login(client, CABINET)
    html = client.get(f"{PILOT}/").get_data(as_text=True)
    today = _today()
    days = lambda d: (today - d).days  # noqa: E731
    # Open: T0 (due in 10 days: not shown), T5, T6, T8 late; T7 due in 2 days (horizon 3).
    assert re.search(r'<strong class="late">3</strong>', html)
    assert re.search(r"<strong>1</strong> dues sous 3 jours", html)
    by_service = _group_rows(html, "Par service")
    # (late, soon, oldest age, most days late)
    assert by_service == {
        "Voirie": (2, 1, days(date(2025, 3, 12)), days(date(2025, 3, 19))),
        "Cabinet du maire": (1, 0, days(date(2025, 3, 10)), days(date(2025, 3, 14))),
    }
    by_agent = _group_rows(html, "Par agent")
    assert by_agent == {
        "Non pris en charge": (2, 1, days(date(2025, 3, 10)), days(date(2025, 3, 14))),
        "Yves Lebrac": (1, 0, days(date(2025, 3, 17)), 1),
    }
    numbers = re.findall(r"/agent/tickets/([0-9-]+)", html)
    assert numbers == [seeded[5], seeded[6], seeded[8], seeded[7]]  # by due date
    assert "Dupont-Secret" not in html  # no citizen identity on the pilot pages


@pytest.mark.parametrize(("query", "expected"), [
    ("quartier=centre-bourg", {8}),
    ("elu=H%C3%A9l%C3%A8ne+Girolle", {8}),
    ("elu=Marc+Bolet", {7}),  # les-cepes and zone-artisanale
    ("categorie=reclamation", {5}),
    ("canal=email", {6}),
    ("horizon=0", {5, 6, 8}),
    ("quartier=nulle-part&canal=fax", {5, 6, 7, 8}),  # unknown values are ignored
])
def test_dashboard_filters(client, seeded, query, expected):
    login(client, CABINET)
    html = client.get(f"{PILOT}/?{query}").get_data(as_text=True)
    assert set(re.findall(r"/agent/tickets/([0-9-]+)", html)) == {seeded[k] for k in expected}


def test_chef_de_service_sees_only_his_service(client, seeded):
    login(client, CHEF_VOIRIE)
    html = client.get(f"{PILOT}/").get_data(as_text=True)
    assert set(re.findall(r"/agent/tickets/([0-9-]+)", html)) == {seeded[k] for k in (6, 7, 8)}
    assert "Cabinet du maire" not in _group_rows(html, "Par service")


def test_plain_agent_is_refused_and_has_no_pilot_link(client, seeded):
    login(client, AGENT_VOIRIE)
    assert "Pilotage" not in client.get(f"/{DEMO}/agent/").get_data(as_text=True)
    for path in ("/", "/indicateurs", "/carte", "/retards.csv", "/indicateurs.xlsx",
                 "/carte.csv"):
        assert client.get(f"{PILOT}{path}").status_code == 403, path


def test_cabinet_has_the_pilot_link(client, seeded):
    login(client, CABINET)
    html = client.get(f"/{DEMO}/agent/").get_data(as_text=True)
    assert f'href="{PILOT}/"' in html and ">Pilotage<" in html


def test_anonymous_visitor_is_sent_to_the_login_page(client, seeded):
    response = client.get(f"{PILOT}/")
    assert response.status_code == 302 and "/agent/connexion" in response.location
    assert client.get(f"{PILOT}/retards.csv").status_code == 302


def test_agent_of_another_commune_gets_404(client, seeded):
    login(client, "accueil@trifouillis.example", commune="trifouillis-les-oies")
    assert client.get(f"{PILOT}/").status_code == 404


def test_map_places_geolocated_tickets_as_links(client, seeded):
    login(client, CABINET)
    html = client.get(f"{PILOT}/carte").get_data(as_text=True)
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    links = re.findall(r'<a href="/[^"]+/agent/tickets/([0-9-]+)" class="map-marker">', svg)
    assert sorted(links) == sorted([seeded[7], seeded[8]])  # T6 lies in Paris: off the map
    assert "1 demande est située hors du cadre de la carte" in html
    assert svg.count("<rect x=") - 1 == 1  # the background, then T8 (late) as a square
    assert svg.count("<circle") == 1  # T7, in time
    assert "<title" in svg and "<desc" in svg and "<script" not in html
    html = client.get(f"{PILOT}/carte?quartier=les-cepes").get_data(as_text=True)
    assert re.findall(r'class="map-marker"', html) == ['class="map-marker"']


# --- exports ----------------------------------------------------------------------------


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def _xlsx_rows(body: bytes) -> list[list[object]]:
    workbook = load_workbook(io.BytesIO(body))
    rows = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
            rows.append([cell.value for cell in row])
    return rows


def _assert_inert(rows: list[list[object]]) -> list[str]:
    texts = [value for row in rows for value in row if isinstance(value, str)]
    dangerous = [t for t in texts if t.startswith(FORMULA_STARTS)]
    assert not dangerous, dangerous
    return texts


EXPORTS = ["retards.csv", "retards.xlsx", f"indicateurs.csv?{PERIOD}",
           f"indicateurs.xlsx?{PERIOD}", "carte.csv", "carte.xlsx"]


@pytest.fixture
def hostile_client(app, settings, configs, seeded):  # type: ignore[no-untyped-def]
    """A client of an app whose commune config holds formula-like labels (an administrator's
    typo or worse): a category, a zone and an élu."""
    from ticketing.web import create_app

    config = configs[DEMO]
    category = config.categories["chaussee"].model_copy(update={"label": "=1+1 chaussée"})
    zones = [z.model_copy(update={"label": "\tCentre", "elu": "-Hélène"})
             if z.code == "centre-bourg" else z for z in config.commune.zones]
    hostile = replace(
        config, categories={**config.categories, "chaussee": category},
        commune=config.commune.model_copy(update={"zones": zones}))
    other = create_app(settings, {**configs, DEMO: hostile}, overrides={"TESTING": True})
    return other.test_client()


@pytest.mark.parametrize("export", EXPORTS)
def test_every_export_neutralises_formulas(hostile_client, seeded, export):
    login(hostile_client, CABINET)
    response = hostile_client.get(f"{PILOT}/{export}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    rows = _csv_rows(body) if ".csv" in export else _xlsx_rows(body)
    texts = _assert_inert(rows)
    if export.startswith("retards"):
        assert "'@SUM(A1)" in texts and "'-2+3" in texts and "'+33 1 23" in texts
        assert "'=HYPERLINK(\"http://evil.example\",\"clic\")" in texts
        assert "'=1+1 chaussée" in texts and "'\tCentre" in texts
    elif export.startswith("indicateurs"):
        assert "'=1+1 chaussée" in texts
    else:
        assert "'@SUM(A1)" in texts and "'-2+3" in texts and "'\tCentre" in texts


def test_exports_hold_only_what_the_reader_may_see(client, seeded):
    login(client, CHEF_VOIRIE)
    rows = _csv_rows(client.get(f"{PILOT}/retards.csv").get_data())
    assert rows[0][0] == "N°"
    assert {row[0] for row in rows[1:]} == {seeded[k] for k in (6, 7, 8)}
    rows = _xlsx_rows(client.get(f"{PILOT}/retards.xlsx?canal=email").get_data())
    assert [row[0] for row in rows[1:]] == [seeded[6]]
    rows = _csv_rows(client.get(f"{PILOT}/indicateurs.csv?{PERIOD}").get_data())
    assert ["Demandes reçues", "4", ""] in rows
    assert not any("Réclamation" in cell for row in rows for cell in row)
    rows = _csv_rows(client.get(f"{PILOT}/carte.csv").get_data())
    assert {row[0] for row in rows[1:]} == {seeded[7], seeded[8]} | {seeded[6]}
    text = client.get(f"{PILOT}/retards.xlsx").get_data()
    assert b"Dupont-Secret" not in text and b"ana.secret" not in text


def test_unknown_export_format_is_404(client, seeded):
    login(client, CABINET)
    assert client.get(f"{PILOT}/retards.pdf").status_code == 404


def test_intake_rejects_an_unknown_zone_and_half_a_position(app, db_session, demo_ctx):
    from ticketing.operations.intake import IntakeRejected

    with pytest.raises(IntakeRejected):
        _file(db_session, demo_ctx, Channel.WEB, "chaussee", utc(3, 9), zone_code="atlantide")
    with pytest.raises(IntakeRejected):
        _file(db_session, demo_ctx, Channel.WEB, "chaussee", utc(3, 9), latitude=45.0)
    db_session.rollback()
