"""Phone calls and counter visits registered by an agent: an existing citizen picked by
search or a new one, the acknowledgement by e-mail when given (never by SMS), the
channel icon in the queue and on the ticket, the slip of any ticket."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pypdf
from sqlalchemy import select

from tests.conftest import DEMO, OTHER, csrf_token, login
from ticketing.models import Citizen, OutboxMessage, RegisterEntry, Ticket
from ticketing.operations.intake import CitizenDetails
from ticketing.web.extensions import db

CALL = f"/{DEMO}/agent/enregistrer/telephone"
VISIT = f"/{DEMO}/agent/enregistrer/accueil"


def _post(client, url: str, **fields):  # type: ignore[no-untyped-def]
    page = client.get(url).get_data(as_text=True)
    today = re.search(r'id="received_on"[^>]*value="([0-9-]+)"', page) or \
        re.search(r'value="([0-9-]+)"[^>]*id="received_on"', page)
    assert today, "the reception date is filled in with today"
    data = {"csrf_token": csrf_token(client, url), "received_on": today.group(1),
            "category": "", "description": "Demande le ramassage d'un encombrant devant chez lui."}
    data.update(fields)
    return client.post(url, data=data, content_type="multipart/form-data")


def _ticket(app, register_number: str) -> dict:  # type: ignore[type-arg]
    with app.app_context():
        entry = db.session.scalars(
            select(RegisterEntry).where(RegisterEntry.number == register_number)).one()
        t = entry.ticket
        return {"channel": t.channel, "citizen_id": t.citizen_id, "number": t.number,
                "tracking_code": t.tracking_code,
                "email": t.citizen.email, "phone": t.citizen.phone,
                "acknowledged": t.acknowledged_at is not None,
                "mails": db.session.scalars(select(OutboxMessage.to_address)
                                            .where(OutboxMessage.ticket_id == t.id)).all()}


def _register_number(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_a_call_for_a_citizen_found_by_phone_is_filed_under_that_citizen(
        app, client, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    file_request(citizen=CitizenDetails(last_name="Martin", first_name="Camille",
                                        email="camille.martin@example.org",
                                        phone="06 12 34 56 78"))
    with app.app_context():
        known = db.session.scalars(select(Citizen)).one().id
    login(client, "courrier@champignac.example")

    found = client.get(f"{CALL}?q=0612345678").get_data(as_text=True)
    assert f'id="usager-{known}"' in found and "Camille Martin" in found
    assert "Martin" in client.get(f"{CALL}?q=martin").get_data(as_text=True)
    nobody = client.get(f"{CALL}?q=Zorglub").get_data(as_text=True)
    assert 'id="aucun-usager"' in nobody

    number = _register_number(_post(client, CALL, citizen_id=str(known)))
    ticket = _ticket(app, number)
    assert ticket["channel"] == "phone" and ticket["citizen_id"] == known
    # The citizen has an e-mail address: intake's one acknowledgement mail goes there.
    assert ticket["mails"] == ["camille.martin@example.org"]
    with app.app_context():
        assert len(db.session.scalars(select(Citizen)).all()) == 1  # no duplicate


def test_a_call_from_a_new_citizen_with_only_a_mobile_gets_a_slip_and_an_sms(
        app, client, demo_accounts):  # type: ignore[no-untyped-def]
    login(client, "courrier@champignac.example")
    response = _post(client, CALL, last_name="Bonnet", first_name="Lucien",
                     phone="06 98 76 54 32")
    number = _register_number(response)
    ticket = _ticket(app, number)
    assert ticket["channel"] == "phone" and ticket["phone"] == "06 98 76 54 32"
    # The demo commune's gateway turns a mail to <number>@sms.champignac.example into an SMS.
    assert ticket["mails"] == ["33698765432@sms.champignac.example"] and ticket["acknowledged"]
    with app.app_context():
        sms = db.session.scalars(select(OutboxMessage)).one()
    assert ticket["tracking_code"] in sms.body_text and len(sms.body_text) < 320
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "par SMS au +33698765432" in done
    # The registrar prints the slip even when the ticket went to a service it cannot see.
    slip = client.get(f"/{DEMO}/agent/enregistrer/fait/{number}/accuse-de-reception.pdf")
    assert slip.status_code == 200 and slip.data.startswith(b"%PDF-")


def test_a_call_from_a_landline_gets_the_slip_only(app, client, demo_accounts):  # type: ignore[no-untyped-def]
    login(client, "courrier@champignac.example")
    response = _post(client, CALL, last_name="Bonnet", first_name="Lucien",
                     phone="04 71 00 00 00")
    ticket = _ticket(app, _register_number(response))
    assert ticket["mails"] == [] and ticket["acknowledged"]
    assert "par SMS" not in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_counter_visit_with_e_mail_is_acknowledged_by_mail(app, client, demo_accounts):  # type: ignore[no-untyped-def]
    login(client, "courrier@champignac.example")
    number = _register_number(_post(client, VISIT, last_name="Lenoir", first_name="Aline",
                                    email="aline.lenoir@example.org"))
    ticket = _ticket(app, number)
    assert ticket["channel"] == "counter"
    assert ticket["mails"] == ["aline.lenoir@example.org"]
    assert not ticket["acknowledged"]  # until the mail really leaves


def test_a_phone_number_is_checked(client, demo_accounts):  # type: ignore[no-untyped-def]
    login(client, "courrier@champignac.example")
    response = _post(client, CALL, last_name="Bonnet", phone="12")
    assert response.status_code == 422
    assert "Le numéro de téléphone n&#39;est pas valide" in response.get_data(as_text=True)


def test_the_queue_and_the_ticket_show_the_channel_icon_with_its_text(
        app, client, demo_accounts):  # type: ignore[no-untyped-def]
    login(client, "cabinet@champignac.example")  # registers too, and sees every queue
    number = _register_number(_post(client, CALL, last_name="Bonnet"))
    ticket_number = _ticket(app, number)["number"]

    queue = client.get(f"/{DEMO}/agent/").get_data(as_text=True)
    row = queue[queue.index(f">{ticket_number}</a>"):]
    row = row[:row.index("</tr>")]
    assert re.search(r'<img class="channel-icon" src="[^"]+/icons/channel-phone\.svg" '
                     r'alt="Téléphone"', row)
    icon = client.get(f"/theme/{DEMO}/icons/channel-phone.svg")
    assert icon.status_code == 200 and b"<svg" in icon.data

    page = client.get(f"/{DEMO}/agent/tickets/{ticket_number}").get_data(as_text=True)
    assert "channel-phone.svg" in page and number in page  # icon and register number
    assert 'id="telecharger-accuse"' in page


def test_the_slip_of_any_ticket_needs_view_and_is_a_pdf_attachment(
        app, client, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    number, tracking = file_request(received_at=datetime.now(UTC))
    with app.app_context():
        service = db.session.scalars(select(Ticket.service_code)).one()
    url = f"/{DEMO}/agent/tickets/{number}/accuse-de-reception.pdf"
    login(client, "cabinet@champignac.example")  # sees every service
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = pypdf.PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert tracking in text
    client.post(f"/{DEMO}/agent/deconnexion",
                data={"csrf_token": csrf_token(client, f"/{DEMO}/agent/")})
    assert service != "voirie"
    login(client, "agent.voirie@champignac.example")
    assert client.get(url).status_code == 404  # may not view that service's tickets


def test_citizens_of_another_commune_are_neither_found_nor_accepted(
        app, client, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    file_request(commune=OTHER, citizen=CitizenDetails(
        last_name="Schmitt", first_name="Odile", email="odile.schmitt@example.org"))
    with app.app_context():
        elsewhere = db.session.scalars(select(Citizen)).one().id
    login(client, "courrier@champignac.example")
    assert 'id="aucun-usager"' in client.get(f"{CALL}?q=Schmitt").get_data(as_text=True)
    response = _post(client, CALL, citizen_id=str(elsewhere))
    assert response.status_code == 422
    assert "Usager inconnu." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Ticket).where(Ticket.channel == "phone")).all() == []


def test_the_register_lists_entries_but_hides_what_the_reader_may_not_see(
        app, client, demo_accounts):  # type: ignore[no-untyped-def]
    login(client, "cabinet@champignac.example")
    number = _register_number(_post(client, VISIT, last_name="Lenoir", category="chaussee",
                                    subject="Nid-de-poule rue Haute"))
    assert _ticket(app, number)["channel"] == "counter"
    index = client.get(f"/{DEMO}/agent/enregistrer").get_data(as_text=True)
    assert number in index and "Nid-de-poule rue Haute" in index and "Lenoir" in index

    client.post(f"/{DEMO}/agent/deconnexion",
                data={"csrf_token": csrf_token(client, f"/{DEMO}/agent/")})
    login(client, "courrier@champignac.example")  # registers too, but sees the triage queue
    index = client.get(f"/{DEMO}/agent/enregistrer").get_data(as_text=True)
    assert number in index
    assert "Nid-de-poule rue Haute" not in index and "Lenoir" not in index
    assert client.get(f"/{DEMO}/agent/enregistrer/fait/{number}").status_code == 404
    slip = f"/{DEMO}/agent/enregistrer/fait/{number}/accuse-de-reception.pdf"
    assert client.get(slip).status_code == 404
