"""The printable acknowledgement (CRPA L112-3, R112-5): what the PDF says, read back with
pypdf; the commune's logo comes from its theme."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pypdf
import pytest

from ticketing.config.loader import load_commune
from ticketing.documents.acknowledgement_slip import _theme_file, render_acknowledgement_slip
from ticketing.domain.deadlines import silence_date
from ticketing.mail_templates import MailTemplates, format_date_fr
from ticketing.models import Citizen, Ticket
from ticketing.operations.context import CommuneContext
from ticketing.settings import REPO_ROOT

SLUG = "champignac-en-cambrousse"
THEMES = REPO_ROOT / "themes"


@pytest.fixture(scope="module")
def ctx() -> CommuneContext:
    return CommuneContext(
        commune_id=1, config=load_commune(REPO_ROOT / "config" / "communes" / SLUG),
        attachments_dir=Path("/nonexistent"), mail_templates=MailTemplates(THEMES, SLUG),
        mail_sender="ne-pas-repondre@aiguillage.localhost")


def _ticket(category: str | None = None, service: str = "voirie") -> Ticket:
    return Ticket(
        number="2026-000042", tracking_code="K7QP-3MZD", channel="letter",
        category_code=category, service_code=service, subject="Haie sur le trottoir",
        description="…", received_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
        sent_on=date(2026, 11, 19), ack_due_on=date(2026, 11, 25),
        answer_due_on=date(2026, 12, 7),
        citizen=Citizen(first_name="Marcelle", last_name="Dupuis",
                        address="4 chemin des Morilles, 99001 Champignac-en-Cambrousse"))


def _text(pdf: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


def test_the_slip_states_numbers_dates_and_the_service_in_charge(ctx: CommuneContext) -> None:
    text = _text(render_acknowledgement_slip(
        ctx, _ticket(), THEMES, datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        register_number="R2026-000007"))
    voirie = ctx.config.services["voirie"]
    for expected in ("R2026-000007", "2026-000042", "K7QP-3MZD", "Marcelle Dupuis",
                     format_date_fr(date(2026, 11, 23)),  # received
                     format_date_fr(date(2026, 12, 7)),  # answer promised
                     format_date_fr(date(2026, 11, 19)),  # postmark
                     voirie.name, voirie.email, ctx.tracking_url(),
                     "L112-3", "R112-5", ctx.config.commune.address.street):
        assert expected in text, expected
    assert "décision implicite" not in text  # no decision asked: no silence rule


@pytest.mark.parametrize(("category", "outcome"), [
    ("subvention-association", "réputée rejetée"),
    ("occupation-domaine-public", "réputée acceptée"),
])
def test_a_request_calling_for_a_decision_states_the_silence_rule(
        ctx: CommuneContext, category: str, outcome: str) -> None:
    rule = ctx.config.categories[category].silence
    assert rule is not None
    service = ctx.config.categories[category].default_service or "courrier"
    text = _text(render_acknowledgement_slip(
        ctx, _ticket(category, service), THEMES, datetime(2026, 11, 23, 10, 0, tzinfo=UTC)))
    assert outcome in text
    assert format_date_fr(silence_date(date(2026, 11, 23), rule.months)) in text
    assert "N° d'enregistrement" not in text  # not registered by an agent: no chrono


def test_the_logo_is_the_communes_own_then_the_default_themes(tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    for theme in ("default", "with-logo"):
        (themes / theme / "static").mkdir(parents=True)
        (themes / theme / "static" / "logo.svg").write_text("<svg/>")
    (tmp_path / "secret.svg").write_text("secret")
    assert _theme_file(themes, "with-logo", "logo.svg") == \
        (themes / "with-logo" / "static" / "logo.svg").as_uri()
    assert _theme_file(themes, "without-logo", "logo.svg") == \
        (themes / "default" / "static" / "logo.svg").as_uri()
    assert (themes / "with-logo" / "static" / "../../../secret.svg").is_file()
    assert _theme_file(themes, "with-logo", "../../../secret.svg") is None
