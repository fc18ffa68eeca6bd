"""An agent registers a letter with its scan: register number, tracking code, deadline from
the sending date, the scan attached, the PDF acknowledgement slip; French field errors."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pypdf
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.domain.deadlines import add_delay, local_date, select_rule
from ticketing.mail_templates import format_date_fr
from ticketing.models import EntryKind, OutboxMessage, RegisterEntry, Ticket, utcnow
from ticketing.web.extensions import db

URL = f"/{DEMO}/agent/enregistrer/courrier"
SCAN_PDF = b"%PDF-1.4\n% lettre scannee\n%%EOF\n"
SCAN_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _today(demo_ctx) -> date:  # type: ignore[no-untyped-def]
    return local_date(utcnow(), demo_ctx.timezone)


def _letter(client, **fields):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": csrf_token(client, URL),
        "last_name": "Dupuis", "first_name": "Marcelle",
        "address": "4 chemin des Morilles, 99001 Champignac-en-Cambrousse",
        "category": "", "subject": "Haie débordant sur le trottoir",
        "description": "La haie du 6 chemin des Morilles empêche de passer avec une poussette.",
    }
    data.update(fields)
    return client.post(URL, data=data, content_type="multipart/form-data")


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_a_registered_letter_gets_its_chrono_deadline_scan_and_slip(
        app, client, demo_accounts, demo_ctx):  # type: ignore[no-untyped-def]
    login(client, "courrier@champignac.example")
    today = _today(demo_ctx)
    sent_on, received_on = today - timedelta(days=6), today - timedelta(days=2)

    response = _letter(client, sent_on=sent_on.isoformat(), received_on=received_on.isoformat(),
                       files=[(io.BytesIO(SCAN_PDF), "lettre.pdf"),
                              (io.BytesIO(SCAN_PNG), "enveloppe.png")])

    assert response.status_code == 303, response.get_data(as_text=True)
    rule = select_rule(demo_ctx.config.deadlines, "letter", None)
    assert rule.count_from == "sending"
    expected = add_delay(sent_on + timedelta(days=rule.transit_days), rule.answer,
                         demo_ctx.config.calendar,
                         demo_ctx.config.deadlines.calendar.roll_forward_to_open_day)
    with app.app_context():
        entry = db.session.scalars(select(RegisterEntry)).one()
        ticket = entry.ticket
        number, tracking_code = entry.number, ticket.tracking_code
        assert number == f"R{today.year}-000001"
        assert ticket.channel == "letter" and ticket.sent_on == sent_on
        assert local_date(ticket.received_at, demo_ctx.timezone) == received_on
        assert ticket.answer_due_on == expected
        inbound = next(e for e in ticket.entries if e.kind == EntryKind.INBOUND)
        assert sorted(a.filename for a in inbound.attachments) == ["enveloppe.png", "lettre.pdf"]
        assert entry.slip in ticket.attachments  # the slip is kept with the ticket's files
        # No e-mail address: no acknowledgement mail, the slip is the acknowledgement.
        assert db.session.scalars(select(OutboxMessage)).all() == []
        assert ticket.acknowledged_at is not None

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert number in page and tracking_code in page
    assert 'id="accuse-papier"' in page and "remettez-lui" in page

    slip = client.get(f"/{DEMO}/agent/enregistrer/fait/{number}/accuse-de-reception.pdf")
    assert slip.status_code == 200
    assert slip.headers["Content-Type"] == "application/pdf"
    assert slip.headers["X-Content-Type-Options"] == "nosniff"
    assert slip.headers["Content-Disposition"].startswith("attachment")
    text = _pdf_text(slip.data)
    assert tracking_code in text and number in text
    assert format_date_fr(expected) in text


def test_register_numbers_follow_each_other(app, client, demo_accounts, demo_ctx):  # type: ignore[no-untyped-def]
    login(client, "courrier@champignac.example")
    today = _today(demo_ctx)
    for _ in range(2):
        assert _letter(client, received_on=today.isoformat()).status_code == 303
    with app.app_context():
        numbers = db.session.scalars(
            select(RegisterEntry.number).order_by(RegisterEntry.id)).all()
    assert numbers == [f"R{today.year}-000001", f"R{today.year}-000002"]


def test_impossible_dates_and_a_missing_sender_are_refused_in_french(
        app, client, demo_accounts, demo_ctx):  # type: ignore[no-untyped-def]
    login(client, "courrier@champignac.example")
    today = _today(demo_ctx)

    future = _letter(client, sent_on=(today + timedelta(days=3)).isoformat(),
                     received_on=today.isoformat())
    assert future.status_code == 422
    assert "cachet de la poste ne peut pas être dans le futur" in future.get_data(as_text=True)

    backwards = _letter(client, sent_on=(today - timedelta(days=1)).isoformat(),
                        received_on=(today - timedelta(days=4)).isoformat())
    assert backwards.status_code == 422
    assert "La date de réception ne peut pas précéder la date d&#39;envoi." in \
        backwards.get_data(as_text=True)

    anonymous = _letter(client, last_name="", received_on=today.isoformat())
    assert anonymous.status_code == 422
    assert "Indiquez le nom de l&#39;expéditeur." in anonymous.get_data(as_text=True)

    with app.app_context():
        assert db.session.scalars(select(Ticket)).all() == []


def test_an_agent_without_register_permission_gets_403(client, demo_accounts):  # type: ignore[no-untyped-def]
    login(client, "agent.voirie@champignac.example")
    assert client.get(f"/{DEMO}/agent/enregistrer").status_code == 403
    assert client.get(URL).status_code == 403
    assert "Enregistrer</a>" not in client.get(f"/{DEMO}/agent/").get_data(as_text=True)


def test_a_scan_of_a_refused_type_is_reported_on_the_file_field(
        app, client, demo_accounts, demo_ctx):  # type: ignore[no-untyped-def]
    login(client, "courrier@champignac.example")
    response = _letter(client, received_on=_today(demo_ctx).isoformat(),
                       files=[(io.BytesIO(b"MZ\x90\x00 not a scan"), "lettre.pdf")])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "n&#39;est pas d&#39;un type accepté" in page
    assert 'id="files-error"' in page
    with app.app_context():
        assert db.session.scalars(select(RegisterEntry)).all() == []
