"""Storing files sent with a request: checked, deduplicated by content hash, kept on disk."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from ticketing.config.schema import AttachmentRules

# Magic numbers of the types a commune may accept; the browser's claim is not trusted.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    data: bytes


class AttachmentRejected(ValueError):
    """A file breaks the commune's attachment rules; the message is for the citizen."""


def sniff_type(data: bytes) -> str | None:
    for content_type, prefixes in SIGNATURES.items():
        if any(data.startswith(p) for p in prefixes):
            if content_type == "image/webp" and data[8:12] != b"WEBP":
                continue
            return content_type
    return None


def check_files(files: list[IncomingFile], rules: AttachmentRules) -> list[str]:
    """Return the detected content type of each file, or raise AttachmentRejected."""
    if len(files) > rules.max_files:
        raise AttachmentRejected(f"{rules.max_files} fichier(s) au maximum.")
    types = []
    limit = int(rules.max_size_mb * 1024 * 1024)
    for file in files:
        if len(file.data) > limit:
            raise AttachmentRejected(
                f"« {file.filename} » dépasse la taille maximale de {rules.max_size_mb:g} Mo."
            )
        detected = sniff_type(file.data)
        if detected is None or detected not in rules.allowed_types:
            raise AttachmentRejected(
                f"« {file.filename} » n'est pas d'un type accepté (PDF, JPEG ou PNG)."
            )
        types.append(detected)
    return types


def safe_filename(name: str) -> str:
    """Keep a readable name without paths or control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    return name.strip(" .")[:200] or "piece-jointe"


def store_bytes(root: Path, data: bytes) -> str:
    """Write ``data`` under ``root`` at a path derived from its sha256; return the hash."""
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(root, digest)
    if not path.exists():
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_bytes(data)
        except FileNotFoundError:  # the first file of its folder (most folders exist)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
        tmp.replace(path)
    return digest


def blob_path(root: Path, digest: str) -> Path:
    return root / digest[:2] / digest[2:4] / digest


def new_public_id() -> str:
    return secrets.token_urlsafe(24)
