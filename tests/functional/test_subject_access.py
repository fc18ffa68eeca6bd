"""The right of access (RGPD): an agent with "export" downloads everything held about one
citizen as a ZIP; never internal notes, never another person's request or commune."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.conftest import DEMO, OTHER, csrf_token, login
from ticketing.models import Agent, AuditEvent, InboundMessage, InboundStatus, Ticket
from ticketing.operations.attachments import IncomingFile
from ticketing.operations.events import Actor
from ticketing.operations.intake import CitizenDetails
from ticketing.operations.merge import link_tickets, merge_tickets
from ticketing.operations.subject_access import ArchiveTooLarge, export_citizen_data
from ticketing.operations.tickets import add_note, reply_to_citizen
from ticketing.web.extensions import db

CABINET = "cabinet@champignac.example"  # export on every service
DGS = "dgs@champignac.example"  # export on every service
CHEF = "chef.voirie@champignac.example"  # export on voirie only
AGENT = "agent.voirie@champignac.example"  # views voirie, no export
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
ZOE_PNG = PNG + b"zoe"
CAMILLE = CitizenDetails(last_name="Martin", first_name="Camille", email="camille@example.org",
                         phone="06 12 34 56 78", address="12 rue des Lilas")
ZOE = CitizenDetails(last_name="Dupré", first_name="Zoé", email="zoe@example.org")
NOTE = "Note interne : dossier sensible, voir avec l'élu."


def _ticket(app, number: str, commune: str = DEMO) -> Ticket:  # type: ignore[no-untyped-def]
    commune_id = app.extensions["aiguillage"].commune_ids[commune]
    return db.session.scalars(select(Ticket).where(
        Ticket.commune_id == commune_id, Ticket.number == number)).one()


def _agent(email: str) -> Agent:
    return db.session.scalars(select(Agent).where(Agent.email == email)).one()


def _export_url(citizen_id: int, commune: str = DEMO) -> str:
    return f"/{commune}/agent/usagers/{citizen_id}/export-rgpd"


def _export(client, citizen_id: int):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/{DEMO}/agent/usagers/{citizen_id}")
    return client.post(_export_url(citizen_id), data={"csrf_token": token})


def _members(response) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _exports(app) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "citizen.data_exported")))


@pytest.fixture
def camille(app, demo_accounts, file_request):  # type: ignore[no-untyped-def]
    """Camille's two requests (a file, a reply, a note, a mail), and Zoé's, merged into
    Camille's first and linked to her second; returns (citizen id, numbers)."""
    first, _ = file_request(subject="Nid de poule rue Haute", forced_service="voirie",
                            description="Un nid de poule devant le 4 rue Haute.",
                            citizen=CAMILLE, files=[IncomingFile("photo trou.png", PNG)])
    second, _ = file_request(subject="Lampadaire éteint", forced_service="eclairage",
                             description="Le lampadaire du square est éteint.", citizen=CAMILLE)
    zoe_dup, _ = file_request(subject="Trou dans la chaussée", forced_service="voirie",
                              description="Même trou, signalé par la voisine Zoé.", citizen=ZOE,
                              files=[IncomingFile("zoe.png", ZOE_PNG)])
    zoe_other, _ = file_request(subject="Bruit", forced_service="eclairage",
                                description="Le transformateur de Zoé bourdonne.", citizen=ZOE)
    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        cabinet = _agent(CABINET)
        actor = Actor.agent(cabinet)
        kept = _ticket(app, first)
        reply_to_citizen(db.session, ctx, kept, cabinet, "Nous intervenons jeudi.", actor)
        add_note(db.session, kept, cabinet, NOTE, actor)
        db.session.add(InboundMessage(
            commune_id=ctx.commune_id, mailbox_key="test", uidvalidity=1, uid=1,
            message_id="<m1@example.org>", raw_sha256="0" * 64, raw_size=10,
            from_address="Camille@Example.org", subject="Re: nid de poule",
            status=InboundStatus.PROCESSED, decision="reply", ticket_id=kept.id,
            received_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC)))
        merge_tickets(db.session, _ticket(app, zoe_dup), kept, actor, ctx)
        link_tickets(db.session, _ticket(app, second), _ticket(app, zoe_other), actor)
        db.session.commit()
        return kept.citizen_id, (first, second, zoe_dup, zoe_other)


def test_the_archive_holds_the_citizen_record_requests_thread_and_files(
    client, app, camille
) -> None:
    citizen_id, (first, second, zoe_dup, zoe_other) = camille
    login(client, CABINET)
    page = client.get(f"/{DEMO}/agent/usagers/{citizen_id}").get_data(as_text=True)
    assert "Exporter les données de l'usager (droit d'accès RGPD)" in page

    response = _export(client, citizen_id)

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "Martin" not in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    files = _members(response)
    assert set(files) == {
        "usager.json", "LISEZMOI.txt", f"demandes/{first}/demande.json",
        f"demandes/{second}/demande.json", f"demandes/{first}/pieces/01-photo trou.png"}
    person = json.loads(files["usager.json"])
    assert (person["prenom"], person["nom"], person["courriel"], person["telephone"],
            person["adresse"]) == ("Camille", "Martin", "camille@example.org",
                                   "06 12 34 56 78", "12 rue des Lilas")
    assert person["fiche_creee_le"]
    assert files[f"demandes/{first}/pieces/01-photo trou.png"] == PNG

    request = json.loads(files[f"demandes/{first}/demande.json"])
    assert request["numero"] == first
    assert request["objet"] == "Nid de poule rue Haute"
    assert request["description"] == "Un nid de poule devant le 4 rue Haute."
    assert request["service"]["code"] == "voirie" and request["service"]["nom"]
    assert request["canal"] == {"code": "web", "libelle": "Formulaire en ligne"}
    assert request["statut"]["code"] == "answered"
    assert request["dates"]["recue_le"] and request["echeances"]["reponse"]
    thread = request["echanges"]
    assert [(e["type"], e["texte"]) for e in thread] == [
        ("message de l'usager", "Un nid de poule devant le 4 rue Haute."),
        ("réponse de la commune", "Nous intervenons jeudi.")]
    assert thread[0]["pieces_jointes"] == [f"demandes/{first}/pieces/01-photo trou.png"]
    assert thread[1]["signataire"]
    assert request["courriels_recus"] == [
        {"date": "2026-03-02T10:30:00+01:00", "objet": "Re: nid de poule"}]
    assert any("accusé" in m["objet"].lower() or first in m["objet"]
               for m in request["courriels_envoyes"])

    readme = files["LISEZMOI.txt"].decode()
    assert "Champignac" in readme and "Camille Martin" in readme
    assert "un mois" in readme and "12.3" in readme and "L311-5" in readme


def test_no_note_and_nothing_of_another_person_even_merged_or_linked(
    client, app, camille, file_request
) -> None:
    citizen_id, (_first, _second, zoe_dup, zoe_other) = camille
    # The same person, known to another commune served by the same deployment.
    file_request(commune=OTHER, citizen=CAMILLE, description="Haie mitoyenne à Trifouillis.")
    login(client, DGS)

    everything = b"".join(_members(_export(client, citizen_id)).values()).decode(
        "utf-8", "replace")

    assert NOTE not in everything and "Note interne" not in everything
    assert "Zoé" not in everything and "zoe" not in everything.lower()
    assert zoe_dup not in everything and zoe_other not in everything
    assert "transformateur" not in everything
    assert "Trifouillis" not in everything


def test_a_merged_duplicate_keeps_its_own_messages_only(client, app, camille) -> None:
    _camille_id, (first, _second, zoe_dup, _zoe_other) = camille
    with app.app_context():
        zoe_id = _ticket(app, zoe_dup).citizen_id
    login(client, CABINET)

    files = _members(_export(client, zoe_id))

    request = json.loads(files[f"demandes/{zoe_dup}/demande.json"])
    assert request["regroupee_dans"] == first
    assert [e["texte"] for e in request["echanges"]] == ["Même trou, signalé par la voisine Zoé."]
    assert files[f"demandes/{zoe_dup}/pieces/01-zoe.png"] == ZOE_PNG
    everything = b"".join(files.values()).decode("utf-8", "replace")
    assert "Camille" not in everything and "rue Haute" not in everything
    assert "Nous intervenons jeudi." not in everything


def test_export_is_audited_with_counts_and_no_personal_data(client, app, camille) -> None:
    citizen_id, _numbers = camille
    login(client, CABINET)

    _export(client, citizen_id)

    [event] = _exports(app)
    assert event.actor_kind == "agent" and event.ticket_id is None
    assert event.after["citizen_id"] == citizen_id
    assert (event.after["tickets"], event.after["attachments"], event.after["inbound_mails"]) \
        == (2, 1, 1)
    recorded = json.dumps(event.after, ensure_ascii=False) + (event.before and
                                                             json.dumps(event.before) or "")
    assert "Martin" not in recorded and "camille@" not in recorded.lower()
    with app.app_context():
        assert event.actor_agent_id == _agent(CABINET).id
    journal = client.get(f"/{DEMO}/agent/admin/journal").get_data(as_text=True)
    assert "Données d&#39;un usager exportées (droit d&#39;accès RGPD)" in journal


def test_refused_without_export_on_every_service_of_the_citizen(app, camille) -> None:
    citizen_id, _numbers = camille
    # The voirie agent has no "export"; the voirie head has it, but Camille's second
    # request is the lighting service's.
    for account in (AGENT, CHEF):
        client = app.test_client()
        login(client, account)
        page = client.get(f"/{DEMO}/agent/usagers/{citizen_id}").get_data(as_text=True)
        assert "export-rgpd" not in page

        assert _export(client, citizen_id).status_code == 403
    assert _exports(app) == []


def test_the_voirie_head_exports_a_citizen_of_voirie_only(
    client, app, demo_accounts, file_request
) -> None:
    number, _ = file_request(forced_service="voirie", citizen=CAMILLE,
                             description="Un trottoir défoncé rue Basse.")
    with app.app_context():
        citizen_id = _ticket(app, number).citizen_id
    login(client, CHEF)

    response = _export(client, citizen_id)

    assert response.status_code == 200
    assert f"demandes/{number}/demande.json" in _members(response)


def test_a_citizen_of_another_commune_is_not_found(client, app, demo_accounts,
                                                   file_request) -> None:
    elsewhere, _ = file_request(commune=OTHER, citizen=CAMILLE)
    with app.app_context():
        citizen_id = _ticket(app, elsewhere, OTHER).citizen_id
    login(client, CABINET)
    token = csrf_token(client, f"/{DEMO}/agent/recherche")

    response = client.post(_export_url(citizen_id), data={"csrf_token": token})

    assert response.status_code == 404
    assert _exports(app) == []


def test_an_archive_above_the_cap_is_refused(app, camille) -> None:
    citizen_id, _numbers = camille
    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        with pytest.raises(ArchiveTooLarge, match="taille maximale"):
            export_citizen_data(db.session, ctx, citizen_id, ctx.config.services,
                                Actor.system("test"), cap=len(PNG) - 1)
        with pytest.raises(ArchiveTooLarge):  # the files fit, not the whole archive
            export_citizen_data(db.session, ctx, citizen_id, ctx.config.services,
                                Actor.system("test"), cap=len(PNG) + 100)
        db.session.rollback()
    assert _exports(app) == []




def test_a_chain_of_merges_keeps_each_citizen_to_their_own_messages(
    client, app, camille, file_request
) -> None:
    citizen_id, (first, _second, zoe_dup, _zoe_other) = camille
    lou, _ = file_request(subject="Chaussée abîmée", forced_service="voirie",
                          description="La chaussée s'effondre rue Haute, signé Lou.",
                          citizen=CitizenDetails(last_name="Bernard", first_name="Lou",
                                                 email="lou@example.org"))
    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        merge_tickets(db.session, _ticket(app, first), _ticket(app, lou),
                      Actor.agent(_agent(CABINET)), ctx)
        db.session.commit()
        zoe_id, lou_id = _ticket(app, zoe_dup).citizen_id, _ticket(app, lou).citizen_id
    login(client, CABINET)

    def thread(citizen: int, number: str) -> list[str]:
        files = _members(_export(client, citizen))
        request = json.loads(files[f"demandes/{number}/demande.json"])
        return [e["texte"] for e in request["echanges"]]

    assert thread(citizen_id, first) == ["Un nid de poule devant le 4 rue Haute.",
                                         "Nous intervenons jeudi."]
    assert thread(zoe_id, zoe_dup) == ["Même trou, signalé par la voisine Zoé."]
    assert thread(lou_id, lou) == ["La chaussée s'effondre rue Haute, signé Lou."]


def test_the_slip_handed_over_at_the_counter_is_in_the_archive(client, app, demo_accounts):
    """The acknowledgement slip is stored on an internal note, yet the citizen was given it:
    it is theirs, unlike the note."""
    from ticketing.config.schema import Channel
    from ticketing.operations.registration import Registration, register_request

    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        courrier = _agent("courrier@champignac.example")
        entry = register_request(db.session, ctx, Registration(
            channel=Channel.COUNTER, description="Demande d'acte de naissance.",
            received_at=datetime.now(UTC),
            citizen=CitizenDetails(last_name="Petit", first_name="Noël")),
            courrier, Actor.agent(courrier), app.extensions["aiguillage"].settings.themes_dir)
        db.session.commit()
        citizen_id, number = entry.ticket.citizen_id, entry.ticket.number
    login(client, CABINET)
    members = _members(_export(client, citizen_id))
    [slip] = [name for name in members if name.startswith(f"demandes/{number}/pieces/")]
    assert slip.endswith(".pdf") and members[slip].startswith(b"%PDF")
    demande = json.loads(members[f"demandes/{number}/demande.json"])
    assert "Accusé de réception imprimable" not in json.dumps(demande, ensure_ascii=False)
