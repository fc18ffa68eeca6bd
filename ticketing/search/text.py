"""French words for the search index: folded (lower case, no accents) then stemmed.

SQLite's FTS5 has no French stemmer, so the text is reduced to stems here, in Python, the
same way for what is indexed and for what is searched: "lampadaires" and "Lampadaire"
both become "lampadair", "éclairage" and "eclairage" both "eclairag". Accents are removed
*before* stemming so that a word typed without its accents gives the same stem.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from ticketing.domain.text import without_accents

_WORD = re.compile(r"[0-9a-z]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})

# Words too common to tell requests apart (a subset of the Snowball French stop list,
# folded); they are neither indexed nor required in a query.
STOP_WORDS = frozenset("""
a au aux avec ce ces c d dans de des du elle en et eux il ils j je l la le les leur lui m
ma mais me meme mes moi mon n ne nos notre nous on ou par pas pour qu que qui s sa se ses
son sur t ta te tes toi ton tu un une vos votre vous y est sont ete etait
""".split())

_stemmer = snowballstemmer.stemmer("french")


def fold(text: str) -> str:
    """Lower case, ligatures spelt out, accents removed: "Œuvre d'Été" -> "oeuvre d'ete"."""
    return without_accents(text.lower().translate(_LIGATURES))


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def stems(text: str | None) -> list[str]:
    """The stems of the meaningful words of ``text``, in order."""
    if not text:
        return []
    return [stem(word) for word in _WORD.findall(fold(text)) if word not in STOP_WORDS]


def index_text(*parts: str | None) -> str:
    """What the SQLite index stores for ``parts``: their stems separated by spaces."""
    return " ".join(s for part in parts for s in stems(part))


def phone_digits(phone: str | None) -> str:
    """A phone number as digits only, "+33 6 12…" read as "06 12…" (French numbers)."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    if (phone or "").lstrip().startswith("+33") and digits.startswith("33"):
        digits = "0" + digits[2:]
    return digits
