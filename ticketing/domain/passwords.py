"""Password policy (ANSSI and NIST guidance): length, not composition, and no common or
personal password. Pure rules: the messages are shown under the form's password field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from ticketing.domain.text import without_accents

MIN_LENGTH = 12
MAX_LENGTH = 128
# What is left of a password once the agent's or commune's names are taken out of it
# must still be this long: "champignac2026!" is refused, a long passphrase is not.
MIN_LEFT_WITHOUT_NAMES = 8

_TRAILING_NOISE = re.compile(r"[\d\W_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The list shipped in ``ticketing/data/common-passwords.txt``."""
    text = resources.files("ticketing").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def _fold(text: str) -> str:
    """Lower case, accents removed: ``Éclairage`` and ``eclairage`` are the same word."""
    return without_accents(text.casefold())


def _letters_and_digits(text: str) -> str:
    return re.sub(r"[\W_]+", "", _fold(text))


def is_common(password: str) -> bool:
    """In the list, whatever the case, also once trailing digits or symbols (a year, a "!")
    are taken off: ``Motdepasse2026!`` is as common as ``motdepasse``."""
    folded = _fold(password.strip())
    known = common_passwords()
    candidates = {folded, _letters_and_digits(folded), _TRAILING_NOISE.sub("", folded)}
    candidates.add(_TRAILING_NOISE.sub("", _letters_and_digits(folded)))
    candidates.add(re.sub(r"[\W\d_]+", "", folded))  # "soleil2026soleil" is "soleilsoleil"
    return any(candidate in known for candidate in candidates if candidate)


def _personal_words(email: str, full_name: str, commune_name: str) -> list[str]:
    local_part = email.partition("@")[0]
    words = {_letters_and_digits(local_part), _letters_and_digits(full_name),
             _letters_and_digits(commune_name)}
    for text in (local_part, full_name, commune_name):
        words.update(_letters_and_digits(part) for part in re.split(r"[\s.\-_'’]+", text))
    # Longest first, so "champignacencambrousse" goes before "champignac".
    return sorted((w for w in words if len(w) >= 4), key=len, reverse=True)


def _without(text: str, words: Iterable[str]) -> str:
    for word in words:
        text = text.replace(word, "")
    return text


def password_problems(
    password: str, *, email: str = "", full_name: str = "", commune_name: str = ""
) -> list[str]:
    """What is wrong with ``password`` (French, for the form), or an empty list."""
    if len(password) < MIN_LENGTH:
        return [f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères "
                "(une phrase de plusieurs mots est un bon choix)."]
    if len(password) > MAX_LENGTH:
        return [f"Le mot de passe doit compter au plus {MAX_LENGTH} caractères."]
    if is_common(password):
        return ["Ce mot de passe est trop courant : il figure parmi les mots de passe "
                "essayés en premier par les attaquants. Choisissez-en un autre."]
    compact = _letters_and_digits(password)
    left = _without(compact, _personal_words(email, full_name, commune_name))
    if left != compact and len(_TRAILING_NOISE.sub("", left) or left) < MIN_LEFT_WITHOUT_NAMES:
        return ["Le mot de passe ne doit pas reprendre votre nom, votre adresse "
                "électronique ou le nom de la commune."]
    return []
