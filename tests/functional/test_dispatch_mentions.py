"""Notes that mention colleagues: a notification and a mail to those who may open the
ticket; nobody is told about a ticket they cannot open."""

from __future__ import annotations

from sqlalchemy import select

from tests.functional.dispatch_support import (
    CHEF_VOIRIE,
    ECLAIRAGE,
    ELU,
    VOIRIE,
    events,
    post_action,
    signed_in,
    ticket_url,
)
from ticketing.models import Agent, EntryKind, Notification, OutboxMessage, ThreadEntry
from ticketing.web.extensions import db


def _notified(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(
            select(Notification.recipient).where(Notification.kind == "mention")))


def _mention_mails(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(m.to_address, m.body_text) for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "mention"))]


def test_a_mention_notifies_a_colleague_who_can_open_the_ticket(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "note-mention",
                           body="@yves.lebrac peux-tu passer voir ce trou demain ?")
    assert response.status_code == 303
    assert _notified(app) == [VOIRIE]
    [(to, body)] = _mention_mails(app)
    assert to == VOIRIE and "Léon Prunelle vous mentionne" in body
    assert f"/agent/tickets/{pothole}" in body
    with app.app_context():
        [note] = db.session.scalars(select(ThreadEntry).where(
            ThreadEntry.kind == EntryKind.NOTE)).all()
        assert "peux-tu passer" in note.body
    assert events(app, pothole, "ticket.mentioned")[0].after["agents"] == ["Yves Lebrac"]


def test_the_picker_notifies_too(app, pothole):
    with app.app_context():
        voirie_id = db.session.scalars(select(Agent.id).where(Agent.email == VOIRIE)).one()
    chef = signed_in(app, CHEF_VOIRIE)
    page = chef.get(ticket_url(pothole)).get_data(as_text=True)
    assert "Yves Lebrac (@yves.lebrac)" in page
    assert "Jeanne Fantasio" not in page  # cannot open a voirie ticket: not offered
    response = post_action(chef, pothole, "note-mention", body="À voir.", agents=[voirie_id])
    assert response.status_code == 303
    assert _notified(app) == [VOIRIE]


def test_nobody_is_told_about_a_ticket_they_cannot_open(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "note-mention",
                           body="@jeanne.fantasio est-ce un candélabre ?")
    assert response.status_code == 303
    page = chef.get(ticket_url(pothole)).get_data(as_text=True)
    assert "Non prévenu(e)s, faute d&#39;accès à cette demande : Jeanne Fantasio." in page
    assert _notified(app) == [] and _mention_mails(app) == []
    # Once the ticket is copied to her service she may open it, and is told.
    post_action(chef, pothole, "copie", services=["eclairage"])
    post_action(chef, pothole, "note-mention", body="@jeanne.fantasio et maintenant ?")
    assert _notified(app) == [ECLAIRAGE]


def test_a_reader_without_the_note_right_gets_403(app, pothole):
    response = post_action(signed_in(app, ELU), pothole, "note-mention", body="@yves.lebrac")
    assert response.status_code == 403
    assert _notified(app) == []


def test_a_mention_in_the_plain_note_form_notifies_too(app, pothole):
    chef = signed_in(app, CHEF_VOIRIE)
    response = post_action(chef, pothole, "note", body="Vu avec @yves.lebrac ce matin.")
    assert response.status_code == 303
    assert _notified(app) == [VOIRIE]
    assert "Prévenu(e)s : Yves Lebrac." in chef.get(ticket_url(pothole)).get_data(as_text=True)
