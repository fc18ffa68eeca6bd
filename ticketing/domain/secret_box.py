"""Secrets kept at rest, such as the agents' TOTP seeds: Fernet (AES-CBC and HMAC-SHA256)
with a key derived by HKDF-SHA256 from the application's secret key, one key per purpose.

Changing the application's secret key makes the sealed values unreadable.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOTP_SECRET = b"aiguillage/totp-secret/v1"


class SecretUnreadable(ValueError):
    """The value was sealed with another key (or purpose), or altered."""


@lru_cache(maxsize=8)
def _fernet(app_secret: bytes, purpose: bytes) -> Fernet:
    if not app_secret:
        raise ValueError("no application secret key to derive the encryption key from")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(app_secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str, app_secret: bytes, purpose: bytes = TOTP_SECRET) -> str:
    """``value`` encrypted and authenticated, as URL-safe ASCII."""
    return _fernet(app_secret, purpose).encrypt(value.encode()).decode("ascii")


def unseal(sealed: str, app_secret: bytes, purpose: bytes = TOTP_SECRET) -> str:
    """The value ``seal`` was given; SecretUnreadable with another key or if altered."""
    try:
        return _fernet(app_secret, purpose).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable("sealed with another key, or altered") from exc
