"""The search page and the citizen's page: found in full text, limited to what the agent
may view (a citizen with nothing visible is a 404)."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import DEMO, OTHER, login
from ticketing.models import Ticket
from ticketing.operations.intake import CitizenDetails
from ticketing.web.extensions import db

CABINET = "cabinet@champignac.example"
ELU = "elu@champignac.example"
VOIRIE = "agent.voirie@champignac.example"
HELENE = CitizenDetails(last_name="Lévêque", first_name="Hélène", email="helene@example.org",
                        phone="06 12 34 56 78")


def _search(client, query: str, **args):  # type: ignore[no-untyped-def]
    return client.get(f"/{DEMO}/agent/recherche", query_string={"q": query, **args})


def _citizen_id(app, number: str, commune: str = DEMO) -> int:  # type: ignore[no-untyped-def]
    commune_id = app.extensions["aiguillage"].context(commune).commune_id
    with app.app_context():
        return db.session.scalars(select(Ticket.citizen_id).where(
            Ticket.commune_id == commune_id, Ticket.number == number)).one()


def test_search_finds_plural_and_accents_and_links_to_the_ticket(
    client, demo_accounts, file_request
) -> None:
    number, _ = file_request(subject="Lampadaire éteint", description="Il ne s'allume plus.",
                             forced_service="eclairage")
    other, _ = file_request(subject="Trottoir", description="Un trou.", forced_service="voirie")
    login(client, CABINET)

    page = _search(client, "LAMPADAIRES eteints").get_data(as_text=True)

    assert f'href="/{DEMO}/agent/tickets/{number}"' in page
    assert other not in page
    assert 'role="search"' in page  # the search box of the navigation


def test_search_shows_only_tickets_the_agent_may_view(client, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    lights, _ = file_request(subject="Lampadaire rue Haute", description="Panne.",
                             forced_service="eclairage")
    roads, _ = file_request(subject="Lampadaire renversé", description="Sur la chaussée.",
                            forced_service="voirie")
    login(client, VOIRIE)

    page = _search(client, "lampadaire").get_data(as_text=True)

    assert roads in page
    assert lights not in page


def test_search_by_citizen_lists_them_with_their_page(client, app, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    number, _ = file_request(subject="Question", description="Bonjour.", citizen=HELENE)
    login(client, CABINET)

    page = _search(client, "0612345678").get_data(as_text=True)

    assert number in page
    assert f'href="/{DEMO}/agent/usagers/{_citizen_id(app, number)}"' in page
    assert "Hélène Lévêque" in page


def test_search_pages_through_results(client, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    numbers = [file_request(subject=f"Poubelle {i}", description="Pleine.",
                            forced_service="proprete")[0] for i in range(23)]
    login(client, CABINET)

    first = _search(client, "poubelles").get_data(as_text=True)
    assert numbers[-1] in first and numbers[2] not in first
    following = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = client.get(following.replace("&amp;", "&")).get_data(as_text=True)
    assert numbers[2] in second and numbers[0] in second and numbers[-1] not in second


def test_search_needs_a_signed_in_agent(client) -> None:
    response = _search(client, "lampadaire")
    assert response.status_code == 302
    assert "/agent/connexion" in response.headers["Location"]


def test_citizen_page_lists_every_request_for_the_elu(client, app, demo_accounts,
                                                      file_request) -> None:
    lights, _ = file_request(subject="Lampadaire", description="Panne.", citizen=HELENE,
                             forced_service="eclairage")
    roads, _ = file_request(subject="Trottoir", description="Trou.", citizen=HELENE,
                            forced_service="voirie")
    login(client, ELU)

    response = client.get(f"/{DEMO}/agent/usagers/{_citizen_id(app, lights)}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert lights in page and roads in page
    assert "Demande enregistrée" in page  # their history


def test_citizen_page_shows_only_visible_requests(client, app, demo_accounts,
                                                  file_request) -> None:
    lights, _ = file_request(subject="Lampadaire", description="Panne.", citizen=HELENE,
                             forced_service="eclairage")
    roads, _ = file_request(subject="Trottoir", description="Trou.", citizen=HELENE,
                            forced_service="voirie")
    login(client, VOIRIE)

    page = client.get(f"/{DEMO}/agent/usagers/{_citizen_id(app, lights)}").get_data(
        as_text=True)

    assert roads in page
    assert lights not in page


def test_citizen_page_is_404_without_a_visible_request(client, app, demo_accounts,
                                                       file_request) -> None:
    lights, _ = file_request(subject="Lampadaire", description="Panne.", citizen=HELENE,
                             forced_service="eclairage")
    elsewhere, _ = file_request(commune=OTHER, subject="Lampadaire", description="Panne.")
    login(client, VOIRIE)

    assert client.get(f"/{DEMO}/agent/usagers/{_citizen_id(app, lights)}").status_code == 404
    elsewhere_id = _citizen_id(app, elsewhere, OTHER)
    assert client.get(f"/{DEMO}/agent/usagers/{elsewhere_id}").status_code == 404
    assert client.get(f"/{DEMO}/agent/usagers/999999").status_code == 404


def test_ticket_page_links_to_the_citizen_page(client, app, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    number, _ = file_request(subject="Trottoir", description="Trou.", forced_service="voirie")
    login(client, VOIRIE)

    page = client.get(f"/{DEMO}/agent/tickets/{number}").get_data(as_text=True)

    assert f'href="/{DEMO}/agent/usagers/{_citizen_id(app, number)}"' in page
