"""Replies on paper and by mail: the PDF letter kept in the thread, and the threaded e-mail."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pypdf
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.config.schema import Channel
from ticketing.domain.templating import sample_context
from ticketing.models import (
    Agent,
    Attachment,
    AuditEvent,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    Ticket,
)
from ticketing.operations.intake import CitizenDetails
from ticketing.operations.tickets import reply_context
from ticketing.web.extensions import db

AUTHOR = "agent.voirie@champignac.example"
DGS = "dgs@champignac.example"
ELU = "elu@champignac.example"


def _url(number: str, action: str = "") -> str:
    return f"/{DEMO}/agent/tickets/{number}" + (f"/{action}" if action else "")


def _switch(client, email: str) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/{DEMO}/agent/")
    client.post(f"/{DEMO}/agent/deconnexion", data={"csrf_token": token})
    login(client, email)


def _reply(client, number: str, body: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, _url(number))
    return client.post(_url(number, "reponse"), data={
        "csrf_token": token, "subject": "Votre courrier", "body": body, "status": "answered"})


def _text(pdf: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


def test_the_letter_of_a_validated_postal_reply_is_kept_in_the_thread(app, client, demo_accounts,
                                                               file_request) -> None:
    number, code = file_request(
        channel=Channel.LETTER, category_code="chaussee",
        description="Un nid de poule devant le 3 rue des Érables.",
        citizen=CitizenDetails(last_name="Martin", first_name="Camille",
                               address="3 rue des Érables, 99001 Champignac"))  # no e-mail
    login(client, AUTHOR)
    _reply(client, number, "Nous reboucherons le nid de poule jeudi.")
    _switch(client, DGS)
    queue = client.get(f"/{DEMO}/agent/parapheur").get_data(as_text=True)
    draft_url = re.search(r'href="(/[^"]+/agent/parapheur/\d+)"', queue).group(1)
    token = csrf_token(client, draft_url)
    client.post(f"{draft_url}/visa", data={"csrf_token": token, "subject": "Votre courrier",
                                           "body": "Nous reboucherons le nid de poule jeudi.",
                                           "action": "approve"})
    # No e-mail address: the visa produces the letter to print and post at once.
    _switch(client, AUTHOR)
    page = client.get(_url(number)).get_data(as_text=True)
    link = re.search(r'href="(/[^"]+/agent/pieces/[^"]+)"[^>]*class="letter-link"', page)
    assert link, "the letter is listed next to its reply"
    pdf = client.get(link.group(1))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    text = _text(pdf.data)
    for expected in ("Yves Lebrac", "Technicien voirie", "04 65 71 00 10", code, number,
                     "Camille Martin", "3 rue des Érables", "Nous reboucherons le nid de poule",
                     "Visa : Aimé De Mesmaeker, Directeur général des services"):
        assert expected in text, expected
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        [letter] = db.session.scalars(select(Attachment).where(
            Attachment.ticket_id == ticket.id, Attachment.content_type == "application/pdf",
            Attachment.filename.like("lettre-%"))).all()
        assert letter.entry_id is not None  # stored in the thread, with its reply
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.ticket_id == ticket.id)).all()
        assert "letter.produced" in actions


def test_any_reply_can_be_printed_but_not_by_a_mere_reader(app, client, demo_accounts,
                                                           file_request) -> None:
    number, code = file_request(category_code="chaussee",
                                description="Un nid de poule rue des Érables.")
    login(client, AUTHOR)
    _reply(client, number, "C'est noté.")  # mailed: no letter unless asked for
    page = client.get(_url(number)).get_data(as_text=True)
    assert 'class="letter-link"' not in page and "Produire la lettre PDF" in page
    action = re.search(r'action="(/[^"]+/reponses/(\d+)/lettre)"', page)
    assert client.post(action.group(1), data={
        "csrf_token": csrf_token(client, _url(number))}).status_code == 303
    page = client.get(_url(number)).get_data(as_text=True)
    link = re.search(r'href="(/[^"]+/agent/pieces/[^"]+)"[^>]*class="letter-link"', page)
    text = _text(client.get(link.group(1)).data)
    assert "Yves Lebrac" in text and code in text and "Visa" not in text
    _switch(client, ELU)  # views every request, changes nothing
    assert "Produire la lettre PDF" not in client.get(_url(number)).get_data(as_text=True)
    token = csrf_token(client, f"/{DEMO}/agent/")
    assert client.post(action.group(1), data={"csrf_token": token}).status_code == 403
    _switch(client, AUTHOR)
    token = csrf_token(client, _url(number))
    missing = action.group(1).replace(f"/reponses/{action.group(2)}/", "/reponses/999999/")
    assert client.post(missing, data={"csrf_token": token}).status_code == 404


def test_the_reply_mail_is_threaded_with_the_citizens_mail(app, client, settings,
                                                          demo_accounts, file_request) -> None:
    number, code = file_request(channel=Channel.EMAIL, category_code="chaussee",
                                description="Un nid de poule rue des Érables.")
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        db.session.add(InboundMessage(
            commune_id=ticket.commune_id, mailbox_key="mairie/INBOX", uidvalidity=1, uid=7,
            message_id="cafe1234@example.org", raw_sha256="0" * 64, raw_size=10,
            from_address="Camille.Martin@example.org", subject="Nid de poule",
            status=InboundStatus.PROCESSED, ticket_id=ticket.id,
            received_at=datetime.now(UTC)))
        db.session.commit()
    login(client, AUTHOR)
    _reply(client, number, "Nous intervenons jeudi.")
    with app.app_context():
        [mail] = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "reply")).all()
        assert mail.subject == f"[{code}] Votre courrier"
        assert mail.message_id.startswith("aig.")
        assert mail.headers["In-Reply-To"] == "<cafe1234@example.org>"
        assert mail.headers["References"] == "<cafe1234@example.org>"


def test_reply_templates_get_exactly_the_documented_variables(app, demo_ctx, demo_accounts,
                                                              file_request) -> None:
    """config check validates templates against sample_context: the real one must match."""
    number, _code = file_request(category_code="chaussee", description="Nid de poule.")
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        agent = db.session.scalars(select(Agent).where(Agent.email == AUTHOR)).one()
        real, sample = reply_context(demo_ctx, ticket, agent), sample_context()
        assert set(real) == set(sample)
        for name, value in sample.items():
            if isinstance(value, SimpleNamespace):
                assert set(vars(real[name])) == set(vars(value)), name
