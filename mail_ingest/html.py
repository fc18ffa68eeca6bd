"""HTML mail made safe to show (nh3, no remote content) and turned into readable text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

# cid: stays so the UI can serve inline images from the stored attachments.
_URL_SCHEMES = frozenset(nh3.ALLOWED_URL_SCHEMES | {"cid"})
# Removed with their content: code, styles, and the head's title/meta noise.
_DROPPED_WITH_CONTENT = frozenset({"script", "style", "title", "head", "noscript", "template"})


def sanitise_html(html: str) -> tuple[str, bool]:
    """The HTML cleaned for display and whether remote content (images) was removed."""
    blocked = False

    def keep_attribute(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if tag == "img" and attribute == "src" and not value.strip().lower().startswith("cid:"):
            # Loading it would tell the sender that (and when) an agent read the mail.
            blocked = True
            return None
        return value

    cleaned = nh3.clean(
        html,
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attribute_filter=keep_attribute,
        url_schemes=set(_URL_SCHEMES),
    )
    # nh3 drops a data:/unknown-scheme src before the filter sees it: not remote, not flagged.
    return cleaned, blocked


_BLOCKS = frozenset({
    "p", "div", "section", "article", "header", "footer", "blockquote", "pre", "table",
    "tr", "ul", "ol", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address", "center",
    "form", "fieldset", "figure",
})
_LINES = frozenset({"br", "li", "dt", "dd", "caption"})
_SKIPPED = frozenset({"script", "style", "head", "title", "noscript", "template"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.pieces.append("\n\n")
        elif tag in _LINES:
            self.pieces.append("\n- " if tag == "li" else "\n")
        elif tag in ("td", "th"):
            self.pieces.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _LINES or tag in _BLOCKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.pieces.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.pieces.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable plain text: paragraphs separated by a blank line, entities decoded."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # html.parser is lenient; this is only a last guard
        return nh3.clean(html, tags=set())
    joined = "".join(collector.pieces).replace("\xa0", " ")
    lines = [re.sub(" {2,}", " ", line).strip() for line in joined.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
