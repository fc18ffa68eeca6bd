"""Authorised contacts through a real Dovecot: a contact's mail quoting the code joins the
ticket; the same mail from a stranger opens a new ticket."""

from __future__ import annotations

from mail_corpus import french_mail
from sqlalchemy import select

from ticketing.jobs import run_mail_poll
from ticketing.models import Agent, EntryKind, InboundMessage, Ticket
from ticketing.operations.contacts import add_contact
from ticketing.operations.events import Actor
from ticketing.web.extensions import db

LAWYER = "Maître Roux <maitre.roux@avocats.example>"


def test_a_contacts_mail_joins_the_ticket_and_a_strangers_does_not(
        mail_app, dovecot, imap_user, demo_accounts) -> None:
    dovecot.append(imap_user, french_mail(subject="Litige de mitoyenneté"))
    assert run_mail_poll(mail_app).ok
    with mail_app.app_context():
        ticket = db.session.scalars(select(Ticket)).one()
        code, ticket_id = ticket.tracking_code, ticket.id
        agent = db.session.scalars(select(Agent).where(
            Agent.email == "agent.voirie@champignac.example")).one()
        add_contact(db.session, ticket, agent, "Maitre.Roux@avocats.example", Actor.agent(agent),
                    name="Maître Roux", role="avocat")
        db.session.commit()

    dovecot.append(imap_user, french_mail(subject=f"[{code}] Pièces pour ma cliente",
                                          body="Veuillez trouver nos observations.",
                                          sender=LAWYER))
    dovecot.append(imap_user, french_mail(subject=f"[{code}] je veux voir ce dossier",
                                          sender="Curieux <curieux@example.net>"))
    assert run_mail_poll(mail_app).ok

    with mail_app.app_context():
        tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert len(tickets) == 2  # the stranger's mail opened a ticket of its own
        first, stranger = tickets
        inbound = [e.body for e in first.entries if e.kind == EntryKind.INBOUND]
        assert inbound[-1] == "Veuillez trouver nos observations."
        assert stranger.citizen.email == "curieux@example.net"
        assert stranger.follow_up_of_id is None
        decisions = dict(db.session.execute(select(InboundMessage.from_address,
                                                   InboundMessage.decision)).all())
    assert decisions["maitre.roux@avocats.example"] == "reply"
    assert decisions["curieux@example.net"] == "new_ticket"
    assert first.id == ticket_id
