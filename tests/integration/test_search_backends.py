"""The search index on the database under test (SQLite FTS5 or PostgreSQL tsvector):
French stemming and accents, every source of text, index upkeep, visibility, paging."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from ticketing.operations.intake import CitizenDetails
from ticketing.search.service import search

ALL = ("voirie", "eclairage", "proprete", "courrier", "urbanisme")


@pytest.fixture
def find(db_session, demo_ctx):  # type: ignore[no-untyped-def]
    def _find(query: str, services=ALL, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
        db_session.expire_all()
        found = search(db_session, demo_ctx.commune_id, query, services, **kwargs)
        return [t.number for t in found.tickets]

    return _find


def _ticket(db_session, number: str):  # type: ignore[no-untyped-def]
    from ticketing.models import Ticket

    return db_session.scalars(select(Ticket).where(Ticket.number == number)).one()


def test_plural_and_singular_find_each_other(file_request, find) -> None:
    plural, _ = file_request(subject="Lampadaires éteints",
                             description="Trois lampadaires sont en panne.",
                             forced_service="eclairage")
    singular, _ = file_request(subject="Un lampadaire clignote", description="Il clignote.",
                               forced_service="eclairage")
    file_request(subject="Trottoir abîmé", description="Un trou dans le trottoir.",
                 forced_service="voirie")

    assert set(find("lampadaires")) == {plural, singular}
    assert set(find("lampadaire")) == {plural, singular}


def test_accents_and_case_do_not_matter(file_request, find) -> None:
    number, _ = file_request(subject="Éclairage de l'école", description="Panne générale.",
                             forced_service="eclairage")
    assert find("eclairage ecole") == [number]
    assert find("ÉCLAIRAGE") == [number]
    assert find("générale") == [number]
    assert find("generales") == [number]


def test_every_word_must_be_found(file_request, find) -> None:
    number, _ = file_request(subject="Nid de poule rue des Lilas",
                             description="Un nid de poule dangereux.", forced_service="voirie")
    assert find("poule lilas") == [number]
    assert find("poule marronniers") == []
    assert find("de la") == []  # stop words alone find nothing


def test_thread_messages_are_searched(db_session, demo_ctx, file_request, find) -> None:
    from ticketing.models import Agent
    from ticketing.operations.events import Actor
    from ticketing.operations.tickets import add_note

    number, _ = file_request(subject="Dépôt sauvage", description="Des sacs sur le trottoir.",
                             forced_service="proprete")
    agent = Agent(commune_id=demo_ctx.commune_id, email="a@example.org", full_name="A",
                  password_hash="x")
    db_session.add(agent)
    add_note(db_session, _ticket(db_session, number), agent,
             "Encombrants signalés au prestataire", Actor.agent(agent))
    db_session.commit()

    assert find("encombrant") == [number]
    assert find("prestataires") == [number]


def test_citizen_name_email_and_phone(file_request, find) -> None:
    number, _ = file_request(
        subject="Question", description="Bonjour.",
        citizen=CitizenDetails(last_name="Lévêque", first_name="Hélène",
                               email="helene.leveque@example.org", phone="06 12 34 56 78"))
    file_request(subject="Autre", description="Rien à voir.")

    assert find("Leveque") == [number]
    assert find("hélène lévêque") == [number]
    assert find("helene.leveque@example.org") == [number]
    assert find("06.12.34.56.78") == [number]
    assert find("+33 6 12 34 56 78") == [number]
    assert find("0612345679") == []


def test_number_and_tracking_code(file_request, find) -> None:
    number, code = file_request(subject="Première", description="Texte.")
    file_request(subject="Seconde", description="Texte.")
    year, sequence = number.split("-")

    assert find(number) == [number]
    assert find(f"{year}-{int(sequence)}") == [number]
    assert find(code.lower().replace("-", " ")) == [number]


def test_index_follows_updates_and_deletes(db_session, file_request, find) -> None:
    from ticketing.models import ThreadEntry

    number, _ = file_request(subject="Banc cassé", description="Le banc du square.",
                             location="Place du Marché", forced_service="voirie")
    assert find("marché") == [number]
    ticket = _ticket(db_session, number)
    ticket.location = "Rue de la Fontaine"
    db_session.commit()
    assert find("marché") == []
    assert find("fontaine") == [number]

    db_session.execute(delete(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id))
    db_session.commit()
    assert find("square") == []
    assert find("banc") == [number]  # still the ticket's subject

    ticket.subject = "Fontaine en panne"
    db_session.commit()
    assert find("banc") == []


def test_only_visible_tickets_are_found(db_session, demo_ctx, file_request, find) -> None:
    from ticketing.models import TicketCopy

    roads, _ = file_request(subject="Lampadaire voirie", description="x",
                            forced_service="voirie")
    lights, _ = file_request(subject="Lampadaire éclairage", description="x",
                             forced_service="eclairage")
    assert find("lampadaire", services={"voirie"}) == [roads]
    assert find("lampadaire", services=set()) == []

    db_session.add(TicketCopy(commune_id=demo_ctx.commune_id, service_code="voirie",
                              ticket_id=_ticket(db_session, lights).id))
    db_session.commit()
    assert set(find("lampadaire", services={"voirie"})) == {roads, lights}


def test_other_communes_tickets_are_never_found(file_request, db_session, demo_ctx) -> None:
    file_request(commune="trifouillis-les-oies", subject="Lampadaire", description="x")
    found = search(db_session, demo_ctx.commune_id, "lampadaire", ALL)
    assert found.tickets == []


def test_results_are_paged_newest_first(file_request, find) -> None:
    numbers = [file_request(subject=f"Poubelle {i}", description="Poubelle pleine.",
                            forced_service="proprete")[0] for i in range(5)]
    first = find("poubelles", page_size=2)
    assert first == [numbers[4], numbers[3]]

    second = find("poubelles", page_size=2, before=_before(numbers[3]))
    assert second == [numbers[2], numbers[1]]


def _before(number: str) -> int:
    from ticketing.models import Ticket
    from ticketing.web.extensions import db

    return db.session.scalars(select(Ticket.id).where(Ticket.number == number)).one()


def test_windows_of_recent_tickets_give_the_same_pages(monkeypatch, file_request, find) -> None:
    """A page is first looked for among the newest ids, then further back: same answer."""
    import ticketing.search.service as service

    old = [file_request(subject="Fontaine", description="x", forced_service="voirie")[0]
           for _ in range(3)]
    for _ in range(4):
        file_request(subject="Banc", description="x", forced_service="voirie")
    new = file_request(subject="Fontaine", description="x", forced_service="voirie")[0]
    expected = [new, *reversed(old)]
    assert find("fontaine") == expected

    monkeypatch.setattr(service, "WINDOWS", (2, 4))
    assert find("fontaine") == expected
    assert find("fontaine", page_size=2) == expected[:2]
    assert find("fontaine", page_size=2, before=_before(expected[1])) == expected[2:]


def test_a_citizen_renamed_is_found_under_the_new_name(db_session, file_request, find) -> None:
    from ticketing.models import Citizen

    number, _ = file_request(subject="Question", description="Bonjour.",
                             citizen=CitizenDetails(last_name="Lefèvre", first_name="Inès",
                                                    email="ines@example.org"))
    citizen = db_session.get(Citizen, _ticket(db_session, number).citizen_id)
    citizen.last_name = "Dupré-Lefèvre"
    db_session.commit()
    assert find("dupre") == [number]
    citizen.last_name = "Girard"
    db_session.commit()
    assert find("lefevre") == []
    assert find("girard") == [number]


def test_postgresql_finds_words_spread_over_citizen_and_thread(db_session, file_request,
                                                                find) -> None:
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite looks for every word in one same place")
    number, _ = file_request(subject="Question", description="Le lampadaire clignote.",
                             citizen=CitizenDetails(last_name="Moreau", email="m@example.org"))
    assert find("Moreau lampadaires") == [number]
