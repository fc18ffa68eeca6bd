"""The reply letter: the commune's charte and the L111-2 mentions, readable in the PDF."""

from __future__ import annotations

import io
import shutil
from datetime import date
from pathlib import Path

import pypdf
import pytest

from ticketing.config import load_all
from ticketing.documents.letter import Letter, letter_html, letter_pdf, long_date_fr
from ticketing.settings import REPO_ROOT

THEMES = REPO_ROOT / "themes"
SIGNATURE = ("Yves Lebrac\nTechnicien voirie\nVoirie — Champignac-en-Cambrousse\n"
             "Centre technique municipal, 12 chemin des Ateliers, 99001 Champignac-en-Cambrousse\n"
             "voirie@champignac.example — 04 65 71 00 10")


@pytest.fixture(scope="module")
def configs():  # type: ignore[no-untyped-def]
    return load_all(REPO_ROOT / "config")


def _letter(**fields) -> Letter:  # type: ignore[no-untyped-def]
    values = dict(number="2026-000042", tracking_code="KX7P-Q2MZ", subject="Nid de poule",
                  body="Bonjour Madame,\n\nNous intervenons jeudi <b>matin</b>.\n\nCordialement.",
                  signature=SIGNATURE, recipient_name="Camille Martin",
                  recipient_address="3 rue des Érables, 99001 Champignac-en-Cambrousse",
                  day=date(2026, 12, 1), validated_by="Fantasio Dupuis, DGS")
    values.update(fields)
    return Letter(**values)  # type: ignore[arg-type]


def _text(pdf: bytes) -> str:
    """The text of every page, lines joined by spaces (the layout wraps long lines)."""
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


def test_the_pdf_carries_the_agent_mentions_and_the_tracking_code(configs) -> None:
    pdf = letter_pdf(THEMES, configs["champignac-en-cambrousse"], _letter())
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    for expected in ("Yves Lebrac", "Technicien voirie", "04 65 71 00 10",
                     "Centre technique municipal, 12 chemin des Ateliers", "KX7P-Q2MZ",
                     "2026-000042", "Camille Martin",
                     "1er décembre 2026", "Mairie de Champignac-en-Cambrousse",
                     "Nous intervenons jeudi <b>matin</b>.", "Visa : Fantasio Dupuis, DGS"):
        assert expected in text, expected


def test_the_letter_uses_the_commune_theme_logo_and_colours(configs) -> None:
    html = letter_html(THEMES, configs["champignac-en-cambrousse"], _letter())
    assert 'src="champignac-en-cambrousse/static/logo.svg"' in html
    assert 'href="champignac-en-cambrousse/static/commune.css"' in html


def test_a_commune_without_theme_files_gets_the_default_ones(configs, tmp_path: Path) -> None:
    shutil.copytree(THEMES / "default", tmp_path / "default")
    html = letter_html(tmp_path, configs["trifouillis-les-oies"], _letter())
    assert 'src="default/static/logo.svg"' in html
    assert 'href="default/static/commune.css"' in html
    assert "Mairie de Trifouillis-les-Oies" in html


def test_the_body_is_escaped_not_interpreted(configs) -> None:
    html = letter_html(THEMES, configs["champignac-en-cambrousse"],
                       _letter(body='<img src="https://tracker.example/x.png">'))
    assert "<img src=\"https://tracker.example" not in html
    assert "&lt;img" in html


def test_long_date_fr() -> None:
    assert long_date_fr(date(2026, 12, 1)) == "1er décembre 2026"
    assert long_date_fr(date(2026, 8, 15)) == "15 août 2026"
