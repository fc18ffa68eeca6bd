"""The public request form: a citizen's request becomes one routed, dated, acknowledged ticket."""

from __future__ import annotations

import html
import io
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import DEMO, csrf_token
from ticketing.domain.deadlines import compute_deadlines
from ticketing.mail_templates import format_date_fr
from ticketing.models import Attachment, OutboxMessage, Ticket
from ticketing.operations.attachments import blob_path
from ticketing.web.extensions import db

FORM = f"/{DEMO}/demande"
CONFIRMATION = f"/{DEMO}/demande/confirmation"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18"
    b"\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def valid_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "category": "eclairage-panne",
        "subject": "",
        "description": "Le lampadaire devant le 12 rue des Lilas ne s'allume plus depuis lundi.",
        "first_name": "Camille",
        "last_name": "Martin",
        "email": "camille.martin@example.org",
        "phone": "",
        "address": "12 rue des Lilas",
        "extra_adresse_incident": "Devant le 12 rue des Lilas",
        "extra_numero_candelabre": "EP-0042",
    }
    data.update(overrides)
    return data


def post_form(client, data: dict[str, object], token: str | None = "fetch"):  # type: ignore[no-untyped-def]
    if token == "fetch":
        token = csrf_token(client, FORM)
    if token is not None:
        data = {**data, "csrf_token": token}
    return client.post(FORM, data=data, content_type="multipart/form-data")


def count_tickets(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Ticket))


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def field_error(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


# --- pages ------------------------------------------------------------------------


def test_home_offers_both_entry_points_and_the_commitment(client) -> None:  # type: ignore[no-untyped-def]
    page = text_of(client.get(f"/{DEMO}/"))

    assert "Champignac-en-Cambrousse" in page
    assert f'href="{FORM}"' in page and "Faire une demande" in page
    assert f'href="/{DEMO}/suivi"' in page and "Suivre une demande" in page
    assert "dépend de la catégorie" in page
    assert "réponse sous 7 jours" in page


def test_form_lists_public_categories_with_help_and_a_placeholder(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(FORM)
    page = text_of(response)

    assert response.status_code == 200
    assert '<option value="">— Choisissez —</option>' in page
    assert '<option value="eclairage-panne">Éclairage public en panne</option>' in page
    assert "intervention-elu" not in page  # reserved to agents
    assert "Le numéro inscrit sur le poteau nous aide à le retrouver." in page
    assert "Les champs marqués * sont obligatoires" in page
    assert "Les informations recueillies sur ce formulaire" in page  # privacy notice
    assert 'name="extra_' not in page  # no category chosen: no extra field


def test_category_first_flow_shows_only_that_category_extra_fields(client) -> None:  # type: ignore[no-untyped-def]
    page = text_of(client.get(f"{FORM}?categorie=eclairage-panne"))

    assert '<option selected value="eclairage-panne">' in page
    assert 'name="extra_adresse_incident"' in page
    assert 'name="extra_numero_candelabre"' in page
    assert 'name="extra_type_acte"' not in page


def test_form_is_accessible_without_inline_script_or_style(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(FORM)
    page = response.get_data(as_text=True)

    assert "<script" not in page and "style=" not in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for name, token in [
        ("first_name", "given-name"),
        ("last_name", "family-name"),
        ("email", "email"),
        ("phone", "tel"),
    ]:
        assert f'<label for="{name}">' in page
        assert re.search(rf'<input[^>]*autocomplete="{token}"[^>]*id="{name}"', page)
    assert "None" not in re.sub(r"<option[^>]*>[^<]*</option>", "", page)
    honeypot = re.search(r'<div class="honeypot" aria-hidden="true">(.*?)</div>', page, re.S)
    assert honeypot and 'name="website"' in honeypot.group(1)
    assert 'tabindex="-1"' in honeypot.group(1) and 'autocomplete="off"' in honeypot.group(1)
    assert "Ne pas remplir ce champ" in honeypot.group(1)


# --- a valid submission -----------------------------------------------------------


def test_valid_submission_creates_one_routed_dated_acknowledged_ticket(
    app, client, settings
) -> None:  # type: ignore[no-untyped-def]
    before = datetime.now(UTC)
    data = valid_data(attachments=[(io.BytesIO(PNG), "lampadaire.png")])
    response = post_form(client, data)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(CONFIRMATION)
    ctx = app.extensions["aiguillage"].context(DEMO)
    with app.app_context():
        tickets = db.session.scalars(select(Ticket)).all()
        assert len(tickets) == 1
        ticket = tickets[0]
        assert ticket.commune_id == ctx.commune_id
        assert ticket.channel == "web"
        assert ticket.category_code == "eclairage-panne"
        assert ticket.service_code == "eclairage"
        assert ticket.location == "12 rue des Lilas"
        assert ticket.extra_fields == {
            "adresse_incident": "Devant le 12 rue des Lilas",
            "numero_candelabre": "EP-0042",
        }
        assert ticket.citizen.email == "camille.martin@example.org"
        assert ticket.citizen.last_name == "Martin"
        assert before <= ticket.received_at <= datetime.now(UTC)
        expected = compute_deadlines(
            ctx.config.deadlines,
            ctx.config.calendar,
            ctx.timezone,
            "web",
            "eclairage-panne",
            ticket.received_at,
        )
        assert ticket.answer_due_on == expected.answer_due
        assert ticket.ack_due_on == expected.acknowledgement_due

        attachment = db.session.scalars(select(Attachment)).one()
        assert attachment.ticket_id == ticket.id
        assert attachment.filename == "lampadaire.png"
        assert attachment.content_type == "image/png"
        assert blob_path(settings.attachments_dir, attachment.sha256).read_bytes() == PNG

        ack = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "acknowledgement")
        ).one()
        assert ack.to_address == "camille.martin@example.org"
        assert ticket.tracking_code in ack.subject and ticket.tracking_code in ack.body_text
        code, due = ticket.tracking_code, ticket.answer_due_on

    assert code not in response.headers["Location"]
    confirmation = client.get(CONFIRMATION)
    page = text_of(confirmation)
    assert confirmation.status_code == 200
    assert f'<p class="tracking-code">{code}</p>' in page
    assert format_date_fr(due) in page
    assert "eclairage@champignac.example" in page and "04 65 71 00 12" in page
    assert "accusé de réception vous est envoyé à l'adresse camille.martin@example.org" in page
    assert confirmation.headers["Cache-Control"] == "no-store"


def test_landline_only_submission_is_accepted_without_acknowledgement(app, client) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, valid_data(email="", phone="04 71 12 34 56"))

    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    page = text_of(client.get(CONFIRMATION))
    assert "Vous n'avez pas indiqué d'adresse électronique" in page


def test_mobile_only_submission_is_acknowledged_by_sms(app, client) -> None:  # type: ignore[no-untyped-def]
    assert post_form(client, valid_data(email="", phone="06 12 34 56 78")).status_code == 303
    with app.app_context():
        sms = db.session.scalars(select(OutboxMessage)).one()
    assert sms.to_address == "33612345678@sms.champignac.example"
    assert "Un accusé de réception vous est envoyé par SMS au 06 12 34 56 78" in text_of(
        client.get(CONFIRMATION))


def test_decision_category_confirmation_states_the_silence_rule(client) -> None:  # type: ignore[no-untyped-def]
    data = valid_data(
        category="subvention-association",
        description="Subvention pour la fête du quartier des Lilas, budget joint.",
        extra_nom_association="Les Amis des Lilas",
        extra_montant="1500",
    )
    assert post_form(client, data).status_code == 303

    page = text_of(client.get(CONFIRMATION))
    assert "Votre demande appelle une décision" in page
    assert "sera réputée rejetée" in page
    assert "Télérecours" in page


def test_confirmation_without_a_submission_sends_back_to_the_form(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(CONFIRMATION)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(FORM)


# --- refusals ---------------------------------------------------------------------


def test_post_without_csrf_token_is_refused(app, client) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, valid_data(), token=None)

    assert response.status_code == 400
    assert "Session expirée" in text_of(response)
    assert count_tickets(app) == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"last_name": ""}, "last_name", "Indiquez votre nom de famille."),
        ({"first_name": "  "}, "first_name", "Indiquez votre prénom."),
        ({"email": "camille@"}, "email", "L'adresse électronique n'est pas valide."),
        (
            {"email": "", "phone": ""},
            "email",
            "Indiquez une adresse électronique ou un numéro de téléphone pour que nous puissions "
            "vous répondre.",
        ),
        ({"phone": "12"}, "phone", "Le numéro de téléphone n'est pas valide."),
        (
            {"description": "Panne"},
            "description",
            "La description doit compter au moins 10 caractères.",
        ),
        ({"description": ""}, "description", "Décrivez votre demande."),
        ({"description": "x" * 10001}, "description", "ne doit pas dépasser 10 000 caractères"),
        ({"subject": "x" * 301}, "subject", "L'objet ne doit pas dépasser 300 caractères."),
        ({"category": ""}, "category", "Choisissez une catégorie."),
        ({"category": "pas-une-categorie"}, "category", "Choisissez une catégorie dans la liste."),
        ({"category": "intervention-elu"}, "category", "Choisissez une catégorie dans la liste."),
        (
            {"extra_adresse_incident": ""},
            "extra_adresse_incident",
            "Ce champ est obligatoire pour cette catégorie de demande.",
        ),
    ],
)
def test_each_bad_field_gets_its_french_message(app, client, overrides, field, message) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, valid_data(**overrides))
    raw = response.get_data(as_text=True)
    page = html.unescape(raw)

    assert response.status_code == 400
    assert count_tickets(app) == 0
    assert message in field_error(raw, field)
    assert page.count('<p class="error"') == 1
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S)
    assert summary and "Le formulaire contient 1 erreur(s)" in summary.group(0)
    assert f'href="#{field}"' in summary.group(0)
    assert re.search(r"<title>Erreur — ", page)
    assert re.search(
        rf'aria-describedby="[^"]*{field}-error"[^>]*aria-invalid="true"[^>]*'
        rf'id="{field}"',
        raw,
    )


def test_errors_are_counted_and_every_value_is_kept(client) -> None:  # type: ignore[no-untyped-def]
    data = valid_data(last_name="", email="pas-une-adresse", subject="Lampadaire éteint")
    response = post_form(client, data)
    page = text_of(response)

    assert "Le formulaire contient 2 erreur(s)" in page
    assert 'value="Camille"' in page and 'value="Lampadaire éteint"' in page
    assert 'value="pas-une-adresse"' in page
    assert data["description"] in page
    assert "Devant le 12 rue des Lilas" in page
    assert '<option selected value="eclairage-panne">' in page


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("photo.png", b"MZ\x90\x00\x03\x00\x00\x00 this is a Windows executable"),
        ("notes.png", b"juste du texte, pas une image"),
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
    ],
)
def test_disguised_file_is_refused_and_other_fields_are_kept(app, client, filename, data) -> None:  # type: ignore[no-untyped-def]
    form = valid_data(attachments=[(io.BytesIO(data), filename)])
    response = post_form(client, form)
    raw = response.get_data(as_text=True)
    page = html.unescape(raw)

    assert response.status_code == 400
    assert count_tickets(app) == 0
    assert f"« {filename} » n'est pas d'un type accepté" in field_error(raw, "attachments")
    assert 'value="Camille"' in page and 'value="Martin"' in page
    assert 'value="camille.martin@example.org"' in page
    assert form["description"] in page
    assert "sélectionnez-les à nouveau" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_too_many_files_are_refused(app, client) -> None:  # type: ignore[no-untyped-def]
    files = [(io.BytesIO(PNG), f"photo{i}.png") for i in range(6)]  # the demo allows 5
    response = post_form(client, valid_data(attachments=files))

    assert response.status_code == 400
    assert "5 fichier(s) au maximum" in field_error(response.get_data(as_text=True), "attachments")
    assert count_tickets(app) == 0


def test_honeypot_shows_a_confirmation_but_registers_nothing(app, client) -> None:  # type: ignore[no-untyped-def]
    response = post_form(client, valid_data(website="http://spam.example"))
    page = text_of(response)

    assert response.status_code == 200
    assert "Votre demande a bien été enregistrée" in page
    assert "tracking-code" not in page
    assert count_tickets(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_form_posts_are_rate_limited(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    app.extensions["aiguillage"].settings = replace(settings, public_form_limit="2 per minute")
    token = csrf_token(client, FORM)

    statuses = [
        post_form(client, valid_data(last_name=""), token=token).status_code for _ in range(3)
    ]

    assert statuses == [400, 400, 429]
    limited = post_form(client, valid_data(), token=token)
    assert limited.status_code == 429
    assert "Trop de tentatives" in text_of(limited)
    assert count_tickets(app) == 0
    assert client.get(FORM).status_code == 200  # reading the form is never limited


def test_typed_extra_fields_are_checked_and_stored_as_text(app, client) -> None:  # type: ignore[no-untyped-def]
    base = valid_data(
        category="acte-etat-civil",
        description="Copie intégrale de mon acte de naissance, s'il vous plaît.",
        extra_type_acte="naissance",
        extra_nom_acte="Martin Camille Louise",
    )

    missing = post_form(client, base)
    assert missing.status_code == 400
    assert "obligatoire pour cette catégorie" in field_error(
        missing.get_data(as_text=True), "extra_date_evenement"
    )

    wrong = post_form(client, {**base, "extra_date_evenement": "31/02/1990"})
    assert "Indiquez une date valide" in field_error(
        wrong.get_data(as_text=True), "extra_date_evenement"
    )

    money = post_form(
        client,
        valid_data(
            category="subvention-association",
            description="Subvention pour la fête des Lilas.",
            extra_nom_association="Les Amis des Lilas",
            extra_montant="beaucoup",
        ),
    )
    assert "Indiquez un nombre" in field_error(money.get_data(as_text=True), "extra_montant")

    assert post_form(client, {**base, "extra_date_evenement": "1990-03-14"}).status_code == 303
    with app.app_context():
        ticket = db.session.scalars(select(Ticket)).one()
        assert ticket.extra_fields == {
            "type_acte": "naissance",
            "nom_acte": "Martin Camille Louise",
            "date_evenement": "1990-03-14",
        }
        assert ticket.service_code == "etat-civil"


def test_refused_file_name_is_escaped(client) -> None:  # type: ignore[no-untyped-def]
    name = "<img src=x onerror=alert(1)>.png"
    response = post_form(client, valid_data(attachments=[(io.BytesIO(b"texte"), name)]))
    raw = response.get_data(as_text=True)

    assert response.status_code == 400
    assert "<img src=x" not in raw
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in raw
