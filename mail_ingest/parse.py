"""Raw mail bytes → ``ParsedMail``: decoded, sanitised, never crashing on broken mail.

The standard library's parser does the MIME work; this module adds what real mail needs:
windows-1252 for Latin-1/ASCII labels, a guess for undeclared 8-bit text, RFC 2047 words
that span several encoded chunks, a depth cap, a guessed boundary when the declared one is
missing, and defects recorded instead of exceptions.

Why not mail-parser (named by the guide): tried on tests/mail_corpus (mail-parser 4.8), it
drops the accents of undeclared 8-bit headers ("Inscription  l'cole lmentaire", 03 and 24)
or leaves surrogate escapes in names ("Fran\\udce7oise"), decodes an ISO-8859-1 label as
Latin-1 (the € and œ of 02 become C1 control characters), gives the raw MIME of a mail whose
boundary is missing as its body (15), passes "../../etc/passwd" through as a file name (07),
names an inline image after its Content-ID (08), leaves winmail.dat packed (20) and drops
the report and message/rfc822 parts of bounces and forwards (14, 23). It is a thin layer
over this same ``email`` package; the fixes above would have to be made around it anyway.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.policy
import hashlib
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from mail_ingest.automatic import bounced_message_ids, detect_automatic, header_values
from mail_ingest.html import html_to_text, sanitise_html
from mail_ingest.message import AutomaticKind, MailUnreadable, ParsedAttachment, ParsedMail
from ticketing.domain.message_ids import normalise_message_id, parse_message_id_list
from ticketing.operations.attachments import safe_filename

MAX_DEPTH = 20  # multipart nesting beyond this is not read (a defect is recorded)
MAX_PARTS = 500  # parts read per mail
MAX_SUBJECT = 1000
# compat32 first: its headers are plain strings (no structured parse on every access, 3-4x
# faster here, and nothing to raise); the modern policy is the second try.
_POLICIES = (email.policy.compat32, email.policy.default)
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_ADDRESS_LIKE = re.compile(r"[^\s<>\"'@,;()]+@[^\s<>\"'@,;()]+\.[a-z]{2,}", re.IGNORECASE)
_GUESSED_BOUNDARY = re.compile(r"^--([0-9A-Za-z'()+_,./:=?-][0-9A-Za-z'()+_,./:=? -]{0,69})\s*$",
                               re.MULTILINE)


# --- charsets -------------------------------------------------------------------------------

def _codec(label: str | None) -> str | None:
    """Python codec for a MIME charset label; Latin-1 and ASCII labels read as windows-1252
    (what senders really mean, as browsers do); None when unknown or not a text codec."""
    if not label:
        return None
    label = label.strip().strip("\"'").split("*")[0].lower()
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    return "cp1252" if info.name in ("latin-1", "iso8859-1", "ascii") else info.name


def decode_bytes(data: bytes, label: str | None, defects: list[str]) -> str:
    """Text of ``data`` in its declared charset, or guessed (UTF-8 then windows-1252)."""
    codec = _codec(label)
    if label and codec is None:
        defects.append(f"jeu de caractères inconnu : {label[:40]!r}")
    if codec and codec != "utf-8":
        return data.decode(codec, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if codec == "utf-8":
            defects.append("UTF-8 invalide : caractères remplacés")
            return data.decode("utf-8", "replace")
        if label is None:
            defects.append("texte 8 bits sans jeu de caractères : lu en windows-1252")
        return data.decode("cp1252", "replace")


def _header_text(value: str, defects: list[str]) -> str:
    """A raw header value (8-bit bytes as surrogates, folded) as clean text, not yet
    RFC 2047-decoded."""
    value = _FOLDED_LINE.sub("", value)
    if _ESCAPED_BYTE.search(value):
        value = decode_bytes(value.encode("utf-8", "surrogateescape"), None, defects)
    return value if value.isprintable() else _printable(value)


_FOLDED_LINE = re.compile(r"\r?\n(?=[ \t])")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # an undecoded 8-bit byte


def _printable(text: str) -> str:
    """``text`` with each control or unprintable character replaced by a space."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def decode_words(value: str, defects: list[str]) -> str:
    """Decode RFC 2047 encoded words; adjacent words of one charset are joined as bytes first
    so a character split between two words survives."""
    pieces: list[str] = []
    pending: tuple[str, bytearray] | None = None
    position = 0

    def flush() -> None:
        nonlocal pending
        if pending:
            pieces.append(decode_bytes(bytes(pending[1]), pending[0], defects))
            pending = None

    for match in _ENCODED_WORD.finditer(value):
        between = value[position:match.start()]
        if between.strip() or pending is None:
            flush()
            pieces.append(between)
        charset, encoding, encoded = match.groups()
        try:
            if encoding in "bB":
                data = binascii.a2b_base64(encoded + "=" * (-len(encoded) % 4))
            else:
                data = binascii.a2b_qp(encoded.encode("ascii", "replace"), header=True)
        except (binascii.Error, ValueError):
            flush()
            defects.append("mot encodé RFC 2047 illisible")
            pieces.append(match.group(0))
        else:
            if pending and pending[0].lower() != charset.lower():
                flush()
            if pending is None:
                pending = (charset, bytearray())
            pending[1].extend(data)
        position = match.end()
    flush()
    pieces.append(value[position:])
    return "".join(pieces)


# --- headers --------------------------------------------------------------------------------

def _first_header(message: Message, name: str, defects: list[str]) -> str | None:
    values = header_values(message, name)
    return _header_text(values[0], defects) if values else None


def _addresses(message: Message, name: str, defects: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-cased addr-spec) pairs; entries without an address dropped."""
    raw = [_header_text(value, defects) for value in header_values(message, name)]
    try:
        pairs = getaddresses(raw)
    except Exception:
        pairs = []
        defects.append(f"en-tête {name} illisible")
    found = []
    for display, address in pairs:
        address = address.strip().lower()
        if "@" not in address or any(ch.isspace() for ch in address):
            continue
        name = decode_words(display, defects)
        found.append((" ".join(_printable(name).split()), address))
    if not found and any("@" in value for value in raw):
        # getaddresses gave up: take the last thing that looks like an address
        candidates = [m for value in raw for m in _ADDRESS_LIKE.findall(value)]
        if candidates:
            found.append(("", candidates[-1].lower()))
    return found


def _sender(message: Message, defects: list[str]) -> tuple[str | None, str]:
    senders = _addresses(message, "from", defects)
    if not senders:
        return None, ""
    name, address = senders[0]
    shown = {candidate.lower() for candidate in _ADDRESS_LIKE.findall(name)}
    if shown - {address}:
        # "mairie@champignac.example" <escroc@evil.example>: only the real address is shown
        defects.append(f"nom affiché trompeur retiré : {name[:100]!r}")
        name = ""
    return address, name


def _date(message: Message, defects: list[str]) -> datetime | None:
    raw = _first_header(message, "date", defects)
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append("date illisible")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _subject(message: Message, defects: list[str]) -> str:
    subject = " ".join(decode_words(_first_header(message, "subject", defects) or "",
                                    defects).split())
    if len(subject) > MAX_SUBJECT:
        defects.append("objet tronqué")
        subject = subject[:MAX_SUBJECT]
    return subject


# --- body -----------------------------------------------------------------------------------

@dataclass
class _Body:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    parts: int = 0


def _walk(part: Message, depth: int, body: _Body) -> None:
    body.parts += 1
    if body.parts > MAX_PARTS:
        if body.parts == MAX_PARTS + 1:
            body.defects.append(f"plus de {MAX_PARTS} parties : la suite n'est pas lue")
        return
    content_type = part.get_content_type()
    if part.get_content_maintype() == "message":
        name = "message-joint.eml" if content_type == "message/rfc822" else "rapport.txt"
        _keep_attachment(part, _message_bytes(part), body, default_name=name)
    elif part.is_multipart():
        if depth >= MAX_DEPTH:
            body.defects.append(f"imbrication MIME au-delà de {MAX_DEPTH} niveaux : non lue")
            return
        for sub in part.get_payload():
            _walk(sub, depth + 1, body)
    elif part.get_content_maintype() == "multipart":
        _salvage_multipart(part, depth, body)
    else:
        _leaf(part, content_type, body)
    body.defects.extend(type(defect).__name__ for defect in part.defects)


def _leaf(part: Message, content_type: str, body: _Body) -> None:
    data = _payload(part, body)
    filename = _filename(part, body)
    disposition = part.get_content_disposition()
    if content_type in TNEF_TYPES or (filename or "").lower() == "winmail.dat":
        if _unpack_tnef(data, body):
            return
    if content_type in ("text/plain", "text/html") and not filename and disposition != "attachment":
        text = decode_bytes(data, part.get_content_charset(), body.defects)
        (body.texts if content_type == "text/plain" else body.htmls).append(text)
        return
    _keep_attachment(part, data, body, filename=filename)


def _payload(part: Message, body: _Body) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        body.defects.append("contenu d'une partie illisible")
        return b""
    return data if isinstance(data, bytes) else b""


def _filename(part: Message, body: _Body) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
        body.defects.append("nom de fichier illisible")
    if not name:
        return None
    name = str(name)
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        name = decode_bytes(name.encode("utf-8", "surrogateescape"), None, body.defects)
    return decode_words(name, body.defects)  # Outlook sends RFC 2047 words in filenames


def _keep_attachment(part: Message, data: bytes, body: _Body, *, filename: str | None = None,
                     default_name: str | None = None) -> None:
    content_type = part.get_content_type()
    content_id = normalise_message_id(_first_header(part, "content-id", body.defects))
    disposition = part.get_content_disposition()
    if not filename:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        filename = default_name or f"piece-jointe{extension}"
    inline = disposition != "attachment" and (disposition == "inline" or content_id is not None)
    body.attachments.append(ParsedAttachment(
        filename=safe_filename(filename), content_type=content_type, data=data,
        content_id=content_id, inline=inline,
    ))


def _message_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):
        chunks = []
        for inner in payload:
            try:
                chunks.append(inner.as_bytes(policy=email.policy.compat32))
            except Exception:
                chunks.append(str(inner).encode("utf-8", "surrogateescape"))
        return b"\n".join(chunks)
    return _payload(part, _Body())


def _salvage_multipart(part: Message, depth: int, body: _Body) -> None:
    """A multipart whose boundary is missing or wrong: guess it from the first ``--`` line,
    else read the whole thing as text."""
    data = _payload(part, body)  # the original bytes (get_payload() alone would mangle 8-bit)
    guess = _GUESSED_BOUNDARY.search(data.decode("latin-1"))
    if guess and depth < MAX_DEPTH:
        boundary = guess.group(1).rstrip()
        header = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'
        reparsed = email.message_from_bytes(header.encode("ascii") + data,
                                            policy=email.policy.default)
        if reparsed.is_multipart():
            body.defects.append("frontière MIME absente ou fausse : devinée")
            for sub in reparsed.get_payload():
                _walk(sub, depth + 1, body)
            return
    body.defects.append("frontière MIME absente : contenu lu comme texte")
    body.texts.append(decode_bytes(data, part.get_content_charset(), body.defects))


def _unpack_tnef(data: bytes, body: _Body) -> bool:
    """Unpack Outlook's winmail.dat into its files; False to keep it as it is."""
    try:
        from tnefparse import TNEF
    except ImportError:
        body.defects.append("winmail.dat conservé tel quel (tnefparse absent)")
        return False
    try:
        tnef = TNEF(data, do_checksum=False)
        files = [(item.long_filename(), bytes(item.data)) for item in tnef.attachments]
        text = tnef.body
    except Exception:
        body.defects.append("winmail.dat illisible : conservé tel quel")
        return False
    if isinstance(text, bytes):
        text = decode_bytes(text, None, body.defects)
    if not files and not text:
        body.defects.append("winmail.dat vide : conservé tel quel")
        return False
    for name, content in files:
        if isinstance(name, bytes):
            name = decode_bytes(name, None, body.defects)
        name = safe_filename(str(name).strip("\x00"))
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        body.attachments.append(ParsedAttachment(name, content_type, content))
    if text:
        body.texts.append(text.strip("\x00"))
    return True


# --- the whole mail -------------------------------------------------------------------------

def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _read(raw: bytes, defects: list[str]) -> tuple[Message, _Body]:
    """Parse and walk with each policy in turn, then read the headers only."""
    for policy in _POLICIES:
        try:
            message = email.message_from_bytes(raw, policy=policy)
            body = _Body()
            _walk(message, 0, body)
            return message, body
        except Exception as error:  # RecursionError on absurd nesting, parser bugs
            defects.append(f"analyse MIME en échec ({type(error).__name__})")
    message = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    defects.append("corps non lu : voir le message brut")
    return message, _Body()


def parse_mail(
    raw: bytes, own_addresses: frozenset[str] = frozenset(), loop_header: str = "X-Aiguillage-Loop"
) -> ParsedMail:
    """Everything the later stages need from ``raw``; MailUnreadable only when it has no
    headers at all."""
    raw = bytes(raw)
    if not raw.strip():
        raise MailUnreadable("message vide")
    defects: list[str] = []
    try:
        message, body = _read(raw, defects)
    except Exception as error:
        raise MailUnreadable(f"message illisible ({type(error).__name__})") from error
    if not message.keys():
        raise MailUnreadable("aucun en-tête")
    from_address, from_name = _sender(message, defects)
    automatic = detect_automatic(message, from_address, own_addresses, loop_header)
    bounced: tuple[str, ...] = ()
    if automatic is AutomaticKind.BOUNCE:
        try:
            bounced = bounced_message_ids(message)
        except Exception:  # the bounce is still a bounce, only its ticket is not found
            defects.append("identifiants du message non remis illisibles")

    html = None
    blocked = False
    if body.htmls:
        sanitised = [sanitise_html(fragment) for fragment in body.htmls]
        html = "\n".join(fragment.strip() for fragment, _ in sanitised)
        blocked = any(flag for _, flag in sanitised)
    text = "\n\n".join(piece.strip("\r\n") for piece in body.texts)
    if not text.strip() and html:
        text = html_to_text(html)
    reply_to = _addresses(message, "reply-to", defects)
    return ParsedMail(
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        message_id=normalise_message_id(_first_header(message, "message-id", defects)),
        in_reply_to=parse_message_id_list(_first_header(message, "in-reply-to", defects)),
        references=parse_message_id_list(_first_header(message, "references", defects)),
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to[0][1] if reply_to else None,
        to=_dedupe(address for _, address in _addresses(message, "to", defects)),
        cc=_dedupe(address for _, address in _addresses(message, "cc", defects)),
        subject=_subject(message, defects),
        date=_date(message, defects),
        text=text.replace("\r\n", "\n"),
        html=html,
        remote_content_blocked=blocked,
        attachments=tuple(body.attachments),
        automatic=automatic,
        bounced_message_ids=bounced,
        defects=_dedupe(defects + body.defects),
    )
