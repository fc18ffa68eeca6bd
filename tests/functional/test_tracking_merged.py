"""The tracking page of merged requests: each citizen follows the ticket that handles their
request, and never sees the other citizen's messages, name, address or tracking code."""

from __future__ import annotations

from sqlalchemy import select

from tests.functional.test_tracking import look_up, text_of
from ticketing.mail_templates import format_date_fr
from ticketing.models import Agent, Status, Ticket
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails
from ticketing.operations.merge import merge_tickets
from ticketing.operations.tickets import reply_to_citizen, set_status
from ticketing.web.extensions import db

CHEF = "chef.voirie@champignac.example"
ZOE = CitizenDetails(last_name="Dupré", first_name="Zoé", email="zoe@example.org")
KEPT_TEXT = "Un nid de poule devant le 4 rue Haute."
DUPLICATE_TEXT = "Même trou, signalé par la voisine."
REPLY_TO_ZOE = "Bonjour Zoé Dupré, nous avons noté votre signalement."
REPLY_TO_CAMILLE = "Bonjour Camille Martin, l'intervention est prévue lundi."


def _ticket(number: str) -> Ticket:
    return db.session.scalars(select(Ticket).where(Ticket.number == number)).one()


def _chef() -> tuple[Agent, Actor]:
    agent = db.session.scalars(select(Agent).where(Agent.email == CHEF)).one()
    return agent, Actor.agent(agent)


def _reply(ctx, number: str, body: str, status: Status = Status.IN_PROGRESS) -> None:  # type: ignore[no-untyped-def]
    agent, actor = _chef()
    reply_to_citizen(db.session, ctx, _ticket(number), agent, body, actor, new_status=status)
    db.session.commit()


def _merge(ctx, duplicate: str, kept: str) -> None:  # type: ignore[no-untyped-def]
    merge_tickets(db.session, _ticket(duplicate), _ticket(kept), _chef()[1], ctx)
    db.session.commit()


def _merged_pair(app, demo_ctx, file_request) -> tuple[dict[str, str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """Camille's pothole (kept) and Zoé's duplicate, each answered once; Camille's answered
    again after the merge. Returns {number, code} of each."""
    kept = dict(zip(("number", "code"), file_request(
        subject="Nid de poule rue Haute", forced_service="voirie", description=KEPT_TEXT,
        citizen=CitizenDetails(last_name="Martin", first_name="Camille",
                               email="camille.martin@example.org", address="4 rue Haute")),
        strict=True))
    duplicate = dict(zip(("number", "code"), file_request(
        subject="Trou dans la chaussée", forced_service="voirie", description=DUPLICATE_TEXT,
        citizen=ZOE), strict=True))
    with app.app_context():
        _reply(demo_ctx, duplicate["number"], REPLY_TO_ZOE)
        _merge(demo_ctx, duplicate["number"], kept["number"])
        _reply(demo_ctx, kept["number"], REPLY_TO_CAMILLE)
    return kept, duplicate


def test_a_merged_duplicate_shows_the_kept_ticket_and_only_its_own_thread(
    app, client, demo_ctx, demo_accounts, file_request
) -> None:
    kept, duplicate = _merged_pair(app, demo_ctx, file_request)
    with app.app_context():
        due = _ticket(kept["number"]).answer_due_on

    page = text_of(look_up(client, duplicate["code"], "dupre"))

    assert f"Demande n° {duplicate['number']}" in page
    assert f"regroupée avec la demande n° {kept['number']}" in page
    assert "En cours de traitement" in page and "Clôturée" not in page  # the kept one's state
    assert format_date_fr(due) in page
    assert "voirie@champignac.example" in page  # the service handling the kept ticket
    assert DUPLICATE_TEXT in page and REPLY_TO_ZOE in page
    assert "Réponse de la mairie à une autre personne ayant signalé le même sujet" in page
    for other_citizens in (KEPT_TEXT, REPLY_TO_CAMILLE, "Camille", "Martin", "rue Haute",
                           "Nid de poule", kept["code"]):
        assert other_citizens not in page


def test_the_kept_ticket_no_longer_shows_the_duplicates_messages(
    app, client, demo_ctx, demo_accounts, file_request
) -> None:
    kept, duplicate = _merged_pair(app, demo_ctx, file_request)

    page = text_of(look_up(client, kept["code"], "martin"))

    assert KEPT_TEXT in page and REPLY_TO_CAMILLE in page
    assert "regroupée" not in page and "autre personne" not in page
    for other_citizens in (DUPLICATE_TEXT, REPLY_TO_ZOE, "Zoé", "Dupré", duplicate["code"]):
        assert other_citizens not in page


def test_a_chain_of_merges_leads_to_the_last_ticket_kept(
    app, client, demo_ctx, demo_accounts, file_request
) -> None:
    kept, duplicate = _merged_pair(app, demo_ctx, file_request)
    last = dict(zip(("number", "code"), file_request(
        subject="Chaussée abîmée", forced_service="voirie", description="Rue Haute encore.",
        citizen=CitizenDetails(last_name="Lagaffe", first_name="Gaston")), strict=True))
    with app.app_context():
        _merge(demo_ctx, kept["number"], last["number"])

    zoe_page = text_of(look_up(client, duplicate["code"], "Dupré"))
    camille_page = text_of(look_up(client, kept["code"], "Martin"))

    assert f"regroupée avec la demande n° {last['number']}" in zoe_page
    assert DUPLICATE_TEXT in zoe_page and KEPT_TEXT not in zoe_page
    assert f"regroupée avec la demande n° {last['number']}" in camille_page
    assert KEPT_TEXT in camille_page and REPLY_TO_CAMILLE in camille_page
    assert DUPLICATE_TEXT not in camille_page and REPLY_TO_ZOE not in camille_page
    for page in (zoe_page, camille_page):
        assert "Rue Haute encore." not in page and "Lagaffe" not in page


def test_waiting_for_the_other_citizen_is_not_asked_of_this_one(
    app, client, demo_ctx, demo_accounts, file_request
) -> None:
    kept, duplicate = _merged_pair(app, demo_ctx, file_request)
    with app.app_context():
        set_status(db.session, _ticket(kept["number"]), Status.WAITING_CITIZEN, _chef()[1],
                   demo_ctx.config)
        db.session.commit()

    zoe_page = text_of(look_up(client, duplicate["code"], "zoe@example.org"))
    camille_page = text_of(look_up(client, kept["code"], "martin"))

    assert "En attente d'informations complémentaires" in zoe_page
    assert "En attente de votre réponse" not in zoe_page
    assert "En attente de votre réponse" in camille_page
