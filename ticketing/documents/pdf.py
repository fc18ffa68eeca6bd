"""HTML to PDF with WeasyPrint: no network, only files under the given base directory."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher


class _ThemeFilesOnly(URLFetcher):
    """Serves ``file:`` URLs under ``root`` and ``data:`` URLs; refuses everything else."""

    def __init__(self, root: Path):
        super().__init__(allowed_protocols={"file", "data"})
        self._root = root.resolve()

    def fetch(self, url: str, headers=None):  # type: ignore[no-untyped-def]
        if url.startswith("file:"):
            path = Path(unquote(urlsplit(url).path)).resolve()
            if not path.is_relative_to(self._root):
                raise ValueError(f"file outside the theme folder: {path}")
        return super().fetch(url, headers)


def render_pdf(html: str, base_dir: Path) -> bytes:
    """The PDF of ``html``; images and stylesheets may only come from ``base_dir``
    (the commune's theme folder), never from the network."""
    document = HTML(string=html, base_url=base_dir.resolve().as_uri() + "/",
                    url_fetcher=_ThemeFilesOnly(base_dir))
    return document.write_pdf()  # type: ignore[no-any-return]
