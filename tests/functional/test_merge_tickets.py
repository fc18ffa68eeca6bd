"""Merging a duplicate and linking related tickets: what moves, what is audited, who may."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import DEMO, csrf_token, login
from ticketing.mail_templates import format_date_fr
from ticketing.models import (
    Agent,
    AuditEvent,
    OutboxMessage,
    Status,
    ThreadEntry,
    Ticket,
    TicketCopy,
    TicketLink,
)
from ticketing.operations.attachments import IncomingFile
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails
from ticketing.operations.merge import merge_tickets, surviving_ticket
from ticketing.web.extensions import db

CHEF = "chef.voirie@champignac.example"  # chef de service: merge on voirie
AGENT = "agent.voirie@champignac.example"  # agent: no merge
ELU = "elu@champignac.example"  # views everything, changes nothing
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _url(number: str, action: str = "") -> str:
    return f"/{DEMO}/agent/tickets/{number}" + (f"/{action}" if action else "")


def _post(client, number: str, action: str, **data):  # type: ignore[no-untyped-def]
    data["csrf_token"] = csrf_token(client, _url(number))
    return client.post(_url(number, action), data=data)


def _state(app, number: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    commune_id = app.extensions["aiguillage"].context(DEMO).commune_id
    with app.app_context():
        ticket = db.session.scalars(select(Ticket).where(
            Ticket.commune_id == commune_id, Ticket.number == number)).one()
        return {
            "status": ticket.status,
            "bodies": [e.body for e in db.session.scalars(select(ThreadEntry).where(
                ThreadEntry.ticket_id == ticket.id).order_by(ThreadEntry.id))],
            "files": [a.filename for a in ticket.attachments],
            "actions": [e.action for e in db.session.scalars(select(AuditEvent).where(
                AuditEvent.ticket_id == ticket.id).order_by(AuditEvent.id))],
        }


def _counts(app) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return (db.session.scalar(select(func.count(TicketLink.id))),
                db.session.scalar(select(func.count(AuditEvent.id)).where(
                    AuditEvent.ticket_id.is_not(None), AuditEvent.action != "access_denied")),
                db.session.scalar(select(func.count(ThreadEntry.id)).where(
                    ThreadEntry.ticket_id.in_(select(Ticket.id).where(
                        Ticket.status == Status.CLOSED)))))


def _two_roads_tickets(file_request) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    kept, _ = file_request(subject="Nid de poule rue Haute", forced_service="voirie",
                           description="Un nid de poule devant le 4 rue Haute.")
    duplicate, _ = file_request(
        subject="Trou dans la chaussée", forced_service="voirie",
        description="Même trou, signalé par la voisine.",
        citizen=CitizenDetails(last_name="Dupré", first_name="Zoé", email="zoe@example.org"),
        files=[IncomingFile("trou.png", PNG)])
    return kept, duplicate


def test_merge_moves_the_thread_closes_the_duplicate_and_audits_both(
    client, app, demo_accounts, file_request
) -> None:
    kept, duplicate = _two_roads_tickets(file_request)
    login(client, CHEF)

    response = _post(client, duplicate, "fusion", target=kept, confirm="y")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(_url(kept))
    kept_state, duplicate_state = _state(app, kept), _state(app, duplicate)
    assert kept_state["bodies"] == ["Un nid de poule devant le 4 rue Haute.",
                                    "Même trou, signalé par la voisine."]
    assert kept_state["files"] == ["trou.png"]
    assert duplicate_state["bodies"] == [] and duplicate_state["files"] == []
    assert duplicate_state["status"] == Status.CLOSED
    assert duplicate_state["actions"][-2:] == ["ticket.status_changed", "ticket.merged_into"]
    assert kept_state["actions"][-1] == "ticket.merged"

    kept_page = client.get(_url(kept)).get_data(as_text=True)
    duplicate_page = client.get(_url(duplicate)).get_data(as_text=True)
    assert "Même trou, signalé par la voisine." in kept_page
    assert "Doublon fusionné" in kept_page and duplicate in kept_page
    assert f"Doublon fusionné dans cette demande (n° {duplicate})" in kept_page
    assert "Fusionnée dans la demande" in duplicate_page and kept in duplicate_page
    assert 'action="/' + DEMO + '/agent/tickets/' + duplicate + '/fusion"' not in duplicate_page


def test_merged_thread_is_found_under_the_kept_number(client, app, demo_accounts,
                                                      file_request) -> None:
    kept, duplicate = _two_roads_tickets(file_request)
    login(client, CHEF)
    _post(client, duplicate, "fusion", target=kept, confirm="y")

    page = client.get(f"/{DEMO}/agent/recherche", query_string={"q": "voisine"}).get_data(
        as_text=True)

    assert f'href="{_url(kept)}"' in page
    assert f'href="{_url(duplicate)}"' not in page


def test_merge_needs_the_confirmation(client, app, demo_accounts, file_request) -> None:
    kept, duplicate = _two_roads_tickets(file_request)
    login(client, CHEF)
    before = _counts(app)

    response = _post(client, duplicate, "fusion", target=kept)

    assert response.status_code == 303
    assert _counts(app) == before
    assert "Cochez la case pour confirmer." in client.get(_url(duplicate)).get_data(
        as_text=True)


def test_merge_is_refused_without_the_merge_permission(client, app, demo_accounts,
                                                       file_request) -> None:
    kept, duplicate = _two_roads_tickets(file_request)
    for account in (AGENT, ELU):
        login(client, account)
        before = _counts(app)
        page = client.get(_url(duplicate)).get_data(as_text=True)
        assert "/fusion" not in page and "/liens" not in page

        assert _post(client, duplicate, "fusion", target=kept, confirm="y").status_code == 403
        assert _post(client, duplicate, "liens", target=kept).status_code == 403
        assert _counts(app) == before
        client.post(f"/{DEMO}/agent/deconnexion",
                    data={"csrf_token": csrf_token(client, _url(duplicate))})


def test_merge_into_a_ticket_seen_only_as_a_copy_is_403(client, app, demo_ctx, demo_accounts,
                                                        file_request) -> None:
    roads, _ = file_request(subject="Trou", description="x", forced_service="voirie")
    lights, _ = file_request(subject="Lampadaire", description="x", forced_service="eclairage")
    with app.app_context():
        lights_id = db.session.scalars(select(Ticket.id).where(Ticket.number == lights)).one()
        db.session.add(TicketCopy(commune_id=demo_ctx.commune_id, ticket_id=lights_id,
                                  service_code="voirie"))
        db.session.commit()
    login(client, CHEF)
    before = _counts(app)

    assert _post(client, roads, "fusion", target=lights, confirm="y").status_code == 403
    assert _counts(app) == before


def test_merge_into_an_invisible_ticket_says_it_is_not_found(client, app, demo_accounts,
                                                             file_request) -> None:
    roads, _ = file_request(subject="Trou", description="x", forced_service="voirie")
    lights, _ = file_request(subject="Lampadaire", description="x", forced_service="eclairage")
    login(client, CHEF)
    before = _counts(app)

    response = _post(client, roads, "fusion", target=lights, confirm="y")

    assert response.status_code == 303
    assert _counts(app) == before
    page = client.get(_url(roads)).get_data(as_text=True)
    assert f"Aucune demande n° {lights} parmi celles que vous pouvez consulter." in page
    token = csrf_token(client, _url(roads))
    response = client.post(_url(lights, "fusion"),
                           data={"target": roads, "confirm": "y", "csrf_token": token})
    assert response.status_code == 404


def test_a_merged_ticket_cannot_be_merged_again_nor_receive_a_merge(
    client, app, demo_accounts, file_request
) -> None:
    kept, duplicate = _two_roads_tickets(file_request)
    third, _ = file_request(subject="Encore le trou", description="x", forced_service="voirie")
    login(client, CHEF)
    _post(client, duplicate, "fusion", target=kept, confirm="y")
    before = _counts(app)

    _post(client, duplicate, "fusion", target=third, confirm="y")
    assert "a déjà été fusionnée" in client.get(_url(duplicate)).get_data(as_text=True)
    _post(client, third, "fusion", target=duplicate, confirm="y")
    assert "fusionnez plutôt dans celle-ci" in client.get(_url(third)).get_data(as_text=True)
    _post(client, third, "fusion", target=third, confirm="y")
    assert "avec elle-même" in client.get(_url(third)).get_data(as_text=True)

    assert _counts(app) == before


def test_link_and_unlink_are_audited_on_both_tickets(client, app, demo_accounts,
                                                     file_request) -> None:
    first, second = _two_roads_tickets(file_request)
    login(client, CHEF)

    assert _post(client, first, "liens", target=second).status_code == 303
    assert f'{_url(second)}/liens/{first}/retrait"' in client.get(_url(second)).get_data(
        as_text=True)
    assert _state(app, first)["actions"][-1] == "ticket.linked"
    assert _state(app, second)["actions"][-1] == "ticket.linked"
    before = _counts(app)
    _post(client, second, "liens", target=first)  # already linked: refused
    assert _counts(app) == before

    response = _post(client, second, f"liens/{first}/retrait")

    assert response.status_code == 303
    assert "/retrait" not in client.get(_url(first)).get_data(as_text=True)
    assert _state(app, first)["actions"][-1] == "ticket.unlinked"
    assert _state(app, second)["actions"][-1] == "ticket.unlinked"
    assert _state(app, first)["status"] != Status.CLOSED  # a link changes nothing else


def test_merge_without_csrf_token_is_rejected(client, app, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    kept, duplicate = _two_roads_tickets(file_request)
    login(client, CHEF)
    before = _counts(app)

    response = client.post(_url(duplicate, "fusion"), data={"target": kept, "confirm": "y"})

    assert response.status_code == 400
    assert _counts(app) == before


def _by_number(number: str) -> Ticket:
    return db.session.scalars(select(Ticket).where(Ticket.number == number)).one()


def _merge_as_chef(ctx, duplicate: str, kept: str) -> None:  # type: ignore[no-untyped-def]
    chef = db.session.scalars(select(Agent).where(Agent.email == CHEF)).one()
    merge_tickets(db.session, _by_number(duplicate), _by_number(kept), Actor.agent(chef), ctx)
    db.session.commit()


def test_merge_tells_the_duplicates_citizen_by_mail_and_nothing_of_the_other(
    app, demo_ctx, demo_accounts, file_request
) -> None:
    kept, duplicate = _two_roads_tickets(file_request)
    with app.app_context():
        _merge_as_chef(demo_ctx, duplicate, kept)
        kept_ticket, duplicate_ticket = _by_number(kept), _by_number(duplicate)
        [notice] = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "merged_notice")).all()
        [event] = db.session.scalars(select(AuditEvent).where(
            AuditEvent.ticket_id == duplicate_ticket.id,
            AuditEvent.action == "ticket.merged_into")).all()

        assert notice.to_address == "zoe@example.org"
        assert notice.ticket_id == duplicate_ticket.id  # a reply finds the duplicate
        assert duplicate_ticket.tracking_code in notice.subject
        assert f"regroupée avec la demande n° {kept}" in notice.subject
        assert f"demande n° {kept}" in notice.body_text
        assert format_date_fr(kept_ticket.answer_due_on) in notice.body_text
        assert demo_ctx.tracking_url() in notice.body_text
        for other_citizens in ("Camille", "Martin", "camille.martin", "rue Haute",
                               kept_ticket.tracking_code):
            assert other_citizens not in notice.subject + notice.body_text
        assert event.after["notice_to"] == "zoe@example.org"


def test_merge_sends_no_notice_to_a_citizen_without_e_mail(
    app, demo_ctx, demo_accounts, file_request
) -> None:
    kept, _ = file_request(subject="Trou", description="x", forced_service="voirie")
    duplicate, _ = file_request(
        subject="Trou", description="y", forced_service="voirie",
        citizen=CitizenDetails(last_name="Dupré", phone="0612345678"))
    with app.app_context():
        _merge_as_chef(demo_ctx, duplicate, kept)

        assert not db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "merged_notice")).all()
        [event] = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "ticket.merged_into")).all()
        assert "notice_to" not in event.after


def test_surviving_ticket_follows_the_chain_of_merges(
    app, demo_ctx, demo_accounts, file_request
) -> None:
    kept, duplicate = _two_roads_tickets(file_request)
    last, _ = file_request(subject="Chaussée", description="z", forced_service="voirie")
    with app.app_context():
        assert surviving_ticket(db.session, _by_number(kept)).number == kept  # not merged
        _merge_as_chef(demo_ctx, duplicate, kept)
        assert surviving_ticket(db.session, _by_number(duplicate)).number == kept
        _merge_as_chef(demo_ctx, kept, last)

        assert surviving_ticket(db.session, _by_number(duplicate)).number == last
        assert surviving_ticket(db.session, _by_number(kept)).number == last
        assert surviving_ticket(db.session, _by_number(last)).number == last
