"""The parapheur: a reply that needs a visa waits, is edited, sent back or approved; the
citizen gets nothing before the visa, and then the author's reply, under the author's name."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, csrf_token, login
from ticketing.config.schema import Channel
from ticketing.domain.message_ids import verify_message_id
from ticketing.models import (
    AuditEvent,
    DraftState,
    EntryKind,
    OutboxMessage,
    ReplyDraft,
    Status,
    ThreadEntry,
    Ticket,
)
from ticketing.operations.intake import CitizenDetails
from ticketing.web.extensions import db

AUTHOR = "agent.voirie@champignac.example"  # Yves Lebrac, Technicien voirie
DGS = "dgs@champignac.example"  # Aimé De Mesmaeker
CHEF = "chef.voirie@champignac.example"  # chef_de_service of Voirie: validate, but not DGS
CABINET = "cabinet@champignac.example"  # validate commune-wide, but not the DGS role
ECLAIRAGE = "agent.eclairage@champignac.example"
BODY = "Nous reboucherons le nid de poule jeudi."


@pytest.fixture
def letter_ticket(file_request) -> tuple[str, str]:
    """A letter about a pothole: Voirie's, and validation.yaml wants the DGS's visa."""
    return file_request(channel=Channel.LETTER, category_code="chaussee",
                        description="Un nid de poule devant le 3 rue des Érables.",
                        citizen=CitizenDetails(last_name="Martin", first_name="Camille",
                                               email="camille.martin@example.org",
                                               address="3 rue des Érables, 99001 Champignac"))


def _url(number: str, action: str = "") -> str:
    return f"/{DEMO}/agent/tickets/{number}" + (f"/{action}" if action else "")


def _switch(client, email: str) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/{DEMO}/agent/")
    client.post(f"/{DEMO}/agent/deconnexion", data={"csrf_token": token})
    login(client, email)


def _submit(client, number: str, body: str = BODY, subject: str = "Votre signalement"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, _url(number))
    return client.post(_url(number, "reponse"), data={
        "csrf_token": token, "subject": subject, "body": body, "status": "answered"})


def _state(app, number: str):  # type: ignore[no-untyped-def]
    """The ticket, its drafts, reply entries, reply mails and audit actions, read afresh."""
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        drafts = db.session.scalars(select(ReplyDraft).where(
            ReplyDraft.ticket_id == ticket.id).order_by(ReplyDraft.id)).all()
        replies = db.session.scalars(select(ThreadEntry).where(
            ThreadEntry.ticket_id == ticket.id, ThreadEntry.kind == EntryKind.REPLY)).all()
        mails = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.ticket_id == ticket.id, OutboxMessage.kind == "reply")).all()
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.ticket_id == ticket.id).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
    return ticket, drafts, replies, mails, actions


def _draft_url(app, number: str, action: str = "") -> str:
    _t, drafts, *_rest = _state(app, number)
    return f"/{DEMO}/agent/parapheur/{drafts[-1].id}" + (f"/{action}" if action else "")


def test_a_reply_needing_a_visa_waits_and_nothing_is_mailed(app, client, demo_accounts,
                                                           letter_ticket) -> None:
    number, _code = letter_ticket
    login(client, AUTHOR)
    page = client.get(_url(number)).get_data(as_text=True)
    assert "Soumettre au visa" in page and "passent par le parapheur" in page

    response = _submit(client, number)

    assert response.status_code == 303
    ticket, drafts, replies, mails, actions = _state(app, number)
    assert mails == [] and replies == []  # not one word to the citizen before the visa
    assert [d.state for d in drafts] == [DraftState.PENDING]
    assert drafts[0].validator_role == "dgs" and drafts[0].body == BODY
    assert ticket.status == Status.IN_PROGRESS and ticket.first_answer_at is None
    assert "reply.submitted" in actions
    page = client.get(_url(number)).get_data(as_text=True)
    assert "En attente du visa" in page and BODY in page
    assert 'action="/champignac-en-cambrousse/agent/tickets/' + number + '/reponse"' not in page
    # A second reply while the first waits is refused, and still nothing is mailed.
    token = csrf_token(client, f"/{DEMO}/agent/")
    client.post(_url(number, "reponse"), data={"csrf_token": token, "body": "Autre",
                                               "status": "answered"})
    _t, drafts, _r, mails, _a = _state(app, number)
    assert len(drafts) == 1 and mails == []


def test_the_dgs_edits_approves_and_the_reply_leaves_under_the_authors_name(
        app, client, settings, demo_accounts, letter_ticket) -> None:
    number, code = letter_ticket
    login(client, AUTHOR)
    _submit(client, number)
    _switch(client, DGS)
    queue = client.get(f"/{DEMO}/agent/parapheur").get_data(as_text=True)
    assert "Parapheur <span class=\"count\">(1)</span>" in queue
    assert number in queue and "Yves Lebrac" in queue
    draft_url = _draft_url(app, number)
    draft_page = client.get(draft_url)
    assert draft_page.status_code == 200
    assert "Un nid de poule devant le 3 rue des Érables." in draft_page.get_data(as_text=True)

    edited = BODY + "\n\nLa chaussée sera fermée de 8 h à 10 h."
    token = csrf_token(client, draft_url)
    saved = client.post(_draft_url(app, number, "visa"), data={
        "csrf_token": token, "subject": "Votre signalement", "body": edited, "action": "save"})
    assert saved.status_code == 303
    _t, drafts, _r, mails, actions = _state(app, number)
    assert drafts[0].body == edited and drafts[0].state == DraftState.PENDING and mails == []
    assert "reply.edited" in actions

    approved = client.post(_draft_url(app, number, "visa"), data={
        "csrf_token": token, "subject": "Votre signalement", "body": edited,
        "action": "approve"})

    assert approved.status_code == 303
    ticket, drafts, replies, mails, actions = _state(app, number)
    assert drafts[0].state == DraftState.SENT and drafts[0].entry_id == replies[0].id
    assert ticket.status == Status.ANSWERED
    [reply] = replies
    assert reply.body == edited
    assert "Yves Lebrac" in reply.author_signature  # CRPA L111-2: the author, not the DGS
    assert "Technicien voirie" in reply.author_signature
    assert "De Mesmaeker" not in reply.author_signature
    [mail] = mails
    assert mail.to_address == "camille.martin@example.org"
    assert mail.subject.startswith(f"[{code}] ")  # the tracking code threads the citizen's reply
    assert verify_message_id(mail.message_id, settings.secret_key.encode())[1] == ticket.id
    assert "Yves Lebrac" in mail.body_text and "04 65 71 00 10" in mail.body_text
    assert actions.index("reply.submitted") < actions.index("reply.edited") \
        < actions.index("reply.approved") < actions.index("ticket.replied")
    queue = client.get(f"/{DEMO}/agent/parapheur").get_data(as_text=True)
    assert "attend votre visa." in queue and number not in queue


def test_sent_back_with_a_comment_then_corrected_and_resubmitted(
        app, client, demo_accounts, letter_ticket) -> None:
    number, _code = letter_ticket
    login(client, AUTHOR)
    _submit(client, number)
    _switch(client, DGS)
    token = csrf_token(client, _draft_url(app, number))
    empty = client.post(_draft_url(app, number, "renvoi"),
                        data={"csrf_token": token, "comment": "  "})
    assert empty.status_code == 422  # a sent-back draft always says why
    returned = client.post(_draft_url(app, number, "renvoi"), data={
        "csrf_token": token, "comment": "Précisez la date et l'heure de l'intervention."})
    assert returned.status_code == 303
    _t, drafts, _r, mails, actions = _state(app, number)
    assert drafts[0].state == DraftState.RETURNED and mails == []
    assert "reply.returned" in actions
    # The validator can no longer decide on it until it comes back.
    assert client.get(_draft_url(app, number)).status_code == 403

    with app.app_context():
        [notice] = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "draft_returned")).all()
        assert notice.to_address == AUTHOR
        assert "Précisez la date et l'heure de l'intervention." in notice.body_text
        assert f"/agent/tickets/{number}" in notice.body_text

    _switch(client, AUTHOR)
    page = client.get(_url(number)).get_data(as_text=True)
    assert re.search(r'id="nav-parapheur"[^>]*>Parapheur <span class="count">\(1\)', page)
    assert "Renvoyée pour correction par Aimé De Mesmaeker" in page
    assert "Précisez la date et l&#39;heure de l&#39;intervention." in page
    queue = client.get(f"/{DEMO}/agent/parapheur").get_data(as_text=True)
    assert "Vos projets renvoyés" in queue and number in queue
    token = csrf_token(client, _url(number))
    corrected = "Nous reboucherons le nid de poule jeudi 3 décembre à 9 h."
    client.post(_draft_url(app, number, "correction"), data={
        "csrf_token": token, "subject": "Votre signalement", "body": corrected,
        "status": "answered"})
    _t, drafts, _r, mails, actions = _state(app, number)
    assert drafts[0].state == DraftState.PENDING and drafts[0].body == corrected
    assert mails == [] and "reply.resubmitted" in actions


@pytest.mark.parametrize("who, status", [(CHEF, 403), (CABINET, 403), (ECLAIRAGE, 404)])
def test_only_the_role_named_by_the_rule_may_validate(app, client, demo_accounts,
                                                       letter_ticket, who, status) -> None:
    number, _code = letter_ticket
    login(client, AUTHOR)
    _submit(client, number)
    _switch(client, who)
    assert client.get(_draft_url(app, number)).status_code == status
    token = csrf_token(client, f"/{DEMO}/agent/")
    response = client.post(_draft_url(app, number, "visa"), data={
        "csrf_token": token, "body": "Signé !", "action": "approve"})
    assert response.status_code == status
    _t, drafts, _r, mails, _a = _state(app, number)
    assert drafts[0].state == DraftState.PENDING and mails == []
    queue = client.get(f"/{DEMO}/agent/parapheur").get_data(as_text=True)
    assert number not in queue


def test_the_author_may_not_validate_their_own_draft(app, client, demo_accounts,
                                                     file_request) -> None:
    """occupation-domaine-public wants a chef de service's visa; the chef writes it himself."""
    number, _code = file_request(category_code="occupation-domaine-public",
                                 description="Une terrasse de café sur le trottoir en décembre.")
    login(client, CHEF)
    _submit(client, number, body="Autorisation accordée du 1er au 15 décembre.")
    _t, drafts, *_rest = _state(app, number)
    assert drafts[0].validator_role == "chef_de_service"
    assert client.get(_draft_url(app, number)).status_code == 403
    assert number not in client.get(f"/{DEMO}/agent/parapheur").get_data(as_text=True)


def test_a_reply_without_rule_is_sent_at_once(app, client, demo_accounts, file_request) -> None:
    number, _code = file_request(category_code="chaussee", description=BODY)  # web: no visa
    login(client, AUTHOR)
    page = client.get(_url(number)).get_data(as_text=True)
    assert "Envoyer la réponse" in page and "Soumettre au visa" not in page
    _submit(client, number)
    _t, drafts, replies, mails, _a = _state(app, number)
    assert drafts == [] and len(replies) == 1 and len(mails) == 1


def test_the_parapheur_link_shows_only_to_validators(client, demo_accounts) -> None:
    login(client, AUTHOR)
    assert "Parapheur" not in client.get(f"/{DEMO}/agent/").get_data(as_text=True)
    _switch(client, DGS)
    html = client.get(f"/{DEMO}/agent/").get_data(as_text=True)
    assert re.search(r'id="nav-parapheur"[^>]*>Parapheur <span class="count">\(0\)', html)
