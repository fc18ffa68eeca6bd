"""PDF rendering: the text is there, and nothing is fetched from outside the theme."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf

from ticketing.documents.pdf import _ThemeFilesOnly, render_pdf


def test_text_of_the_pdf_can_be_extracted(tmp_path: Path) -> None:
    pdf = render_pdf("<h1>Mairie</h1><p>Demande ABCD-1234, suivie par Léon Prunelle</p>", tmp_path)
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "ABCD-1234" in text and "Léon Prunelle" in text


def test_only_files_of_the_theme_folder_are_fetched(tmp_path: Path) -> None:
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("secret")
    fetcher = _ThemeFilesOnly(theme)
    assert fetcher.fetch((theme / "logo.svg").as_uri()) is not None
    for refused in ((tmp_path / "secret.txt").as_uri(), "http://example.org/x.png",
                    (theme / ".." / "secret.txt").as_uri()):
        try:
            fetcher.fetch(refused)
        except ValueError:
            continue
        raise AssertionError(f"{refused} was fetched")
