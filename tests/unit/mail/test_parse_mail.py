"""parse_mail on hand-made edge cases: what survives, what is recorded, what is refused."""

from __future__ import annotations

import sys
from datetime import UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail_ingest.message import AutomaticKind, MailUnreadable
from mail_ingest.parse import MAX_DEPTH, decode_bytes, decode_words, parse_mail

HEAD = (b"From: Jeanne Martin <jeanne.martin@exemple.fr>\r\nTo: mairie@champignac.example\r\n"
        b"Subject: Essai\r\nMessage-ID: <essai@exemple.fr>\r\n")


def nested(depth: int) -> bytes:
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
        for level in range(depth))
    closing = b"".join(b"\r\n--b%d--\r\n" % level for level in reversed(range(depth)))
    return (HEAD + b"MIME-Version: 1.0\r\n" + opening
            + b"Content-Type: text/plain; charset=utf-8\r\n\r\nAu fond du puits.\r\n" + closing)


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n  ", b"bonjour sans en-tete\n"])
def test_nothing_usable_is_unreadable(raw: bytes) -> None:
    with pytest.raises(MailUnreadable):
        parse_mail(raw)


def test_headers_only() -> None:
    mail = parse_mail(HEAD)
    assert (mail.subject, mail.text, mail.attachments) == ("Essai", "", ())


def test_nesting_within_the_cap_is_read() -> None:
    mail = parse_mail(nested(MAX_DEPTH))
    assert mail.text == "Au fond du puits."


def test_nesting_beyond_the_cap_is_a_defect() -> None:
    mail = parse_mail(nested(MAX_DEPTH + 5))
    assert mail.text == ""
    assert any("imbrication" in defect for defect in mail.defects)
    assert mail.subject == "Essai"


def test_absurd_nesting_falls_back_to_the_headers() -> None:
    mail = parse_mail(nested(3000))
    assert mail.subject == "Essai"
    assert mail.from_address == "jeanne.martin@exemple.fr"
    assert any("RecursionError" in defect for defect in mail.defects)


def test_loop_header_and_own_address() -> None:
    looped = parse_mail(HEAD + b"X-Aiguillage-Loop: champignac\r\n\r\nx")
    assert looped.automatic is AutomaticKind.LOOP
    custom = parse_mail(HEAD + b"X-Boucle: 1\r\n\r\nx", loop_header="X-Boucle")
    assert custom.automatic is AutomaticKind.LOOP
    own = parse_mail(HEAD + b"\r\nx", own_addresses=frozenset({"jeanne.martin@exemple.fr"}))
    assert own.automatic is AutomaticKind.LOOP
    assert parse_mail(HEAD + b"\r\nx").automatic is None


def test_message_id_normalisation_and_reference_lists() -> None:
    mail = parse_mail(
        b"From: a@exemple.fr\r\nMessage-ID:  < Abc.Def@Mail.EXEMPLE.fr >\r\n"
        b"In-Reply-To: <X@Y.COM> (commentaire)\r\n"
        b"References: <one@A.fr>\r\n\t<two@B.fr> <one@a.fr>\r\n\r\nx")
    assert mail.message_id == "Abc.Def@mail.exemple.fr"
    assert mail.in_reply_to == ("X@y.com",)
    assert mail.references == ("one@a.fr", "two@b.fr")


def test_date_without_zone_is_taken_as_utc() -> None:
    mail = parse_mail(b"From: a@exemple.fr\r\nDate: Mon, 12 Jan 2026 08:00:00 -0000\r\n\r\nx")
    assert mail.date is not None and mail.date.tzinfo is not None
    assert mail.date.utcoffset() == UTC.utcoffset(None)


def test_unknown_and_non_text_charsets() -> None:
    for label in ("x-inconnu", "base64", "zlib"):
        mail = parse_mail(b"From: a@exemple.fr\r\nContent-Type: text/plain; charset=" +
                          label.encode() + b"\r\n\r\nr\xc3\xa9ponse")
        assert mail.text == "réponse"
        assert any("inconnu" in defect for defect in mail.defects)


def test_from_without_display_name_and_odd_from() -> None:
    assert parse_mail(b"From: Jean.Dupont@Exemple.FR\r\n\r\nx").from_address == \
        "jean.dupont@exemple.fr"
    odd = parse_mail(b"From: Jean <<jean@exemple.fr>>,,,\r\n\r\nx")
    assert odd.from_address == "jean@exemple.fr"
    assert parse_mail(b"From: personne\r\nSubject: s\r\n\r\nx").from_address is None


def test_display_name_equal_to_the_address_is_kept() -> None:
    mail = parse_mail(b'From: "jean@exemple.fr" <jean@exemple.fr>\r\n\r\nx')
    assert mail.from_name == "jean@exemple.fr"


def test_header_injection_characters_do_not_survive_in_the_subject() -> None:
    mail = parse_mail(b"From: a@exemple.fr\r\nSubject: =?utf-8?q?a=0D=0ABcc:_x@evil.example?=\r\n"
                      b"\r\nx")
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert mail.subject == "a Bcc: x@evil.example"
    named = parse_mail(b"From: =?utf-8?q?Jean=0D=0ABcc=3A_x?= <jean@exemple.fr>\r\n\r\nx")
    assert named.from_name == "Jean Bcc: x"


def test_decode_words_keeps_plain_text_and_bad_words() -> None:
    defects: list[str] = []
    assert decode_words("Réunion =?utf-8?q?d=C3=A9but?= ok", defects) == "Réunion début ok"
    assert decode_words("=?utf-8?b?@@@?=", defects) in ("=?utf-8?b?@@@?=", "")
    assert decode_words("=?iso-8859-1?q?=80?= =?utf-8?q?=E2=82=AC?=", defects) == "€€"


def test_decode_bytes_labels() -> None:
    defects: list[str] = []
    assert decode_bytes(b"\x80 \x9c", "us-ascii", defects) == "€ œ"
    assert decode_bytes(b"\x80", "latin1", defects) == "€"
    assert decode_bytes(b"\xe9t\xe9", None, defects) == "été"
    assert decode_bytes("été".encode(), None, defects) == "été"
    assert decode_bytes("été".encode("utf-16"), "utf-16", defects) == "été"


def test_inline_image_without_disposition_and_text_attachment() -> None:
    raw = (HEAD + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
           b"--m\r\nContent-Type: text/plain\r\n\r\ncorps\r\n"
           b"--m\r\nContent-Type: image/gif\r\nContent-ID: <logo@x>\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nR0lGODlhAQABAAAAACw=\r\n"
           b'--m\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n'
           b'--m\r\nContent-Type: text/plain; name="note.txt"\r\n\r\nnote\r\n--m--\r\n')
    mail = parse_mail(raw)
    assert mail.text == "corps"
    logo, calendar, note = mail.attachments
    assert (logo.content_id, logo.inline, logo.filename) == ("logo@x", True, "piece-jointe.gif")
    assert calendar.filename == "piece-jointe.ics" and not calendar.inline
    assert note.filename == "note.txt"


def test_winmail_dat_kept_when_unreadable_or_when_tnefparse_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    raw = (HEAD + b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
           b"--m\r\nContent-Type: text/plain\r\n\r\ncorps\r\n"
           b'--m\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
           b"Content-Transfer-Encoding: base64\r\n\r\nbm90IHRuZWY=\r\n--m--\r\n")
    mail = parse_mail(raw)
    assert [a.filename for a in mail.attachments] == ["winmail.dat"]
    assert any("winmail.dat" in defect for defect in mail.defects)
    monkeypatch.setitem(sys.modules, "tnefparse", None)
    missing = parse_mail(raw)
    assert [a.filename for a in missing.attachments] == ["winmail.dat"]
    assert any("tnefparse absent" in defect for defect in missing.defects)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_crash(noise: bytes) -> None:
    for raw in (noise, HEAD + noise, HEAD + b"Content-Type: multipart/mixed; boundary=z\r\n\r\n"
                + noise):
        try:
            parse_mail(raw)
        except MailUnreadable:
            pass


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_header_text_never_crashes(value: str) -> None:
    raw = ("From: " + value + "\r\nSubject: " + value + "\r\nTo: " + value + "\r\n"
           "Message-ID: " + value + "\r\nDate: " + value + "\r\n\r\ncorps").encode(
               "utf-8", "surrogatepass")
    parse_mail(raw)
