"""Signed outgoing Message-IDs: they round-trip, and any tampering is refused."""

from __future__ import annotations

import re

import pytest

from ticketing.domain.message_ids import (
    claimed_ticket,
    looks_signed,
    normalise_message_id,
    outgoing_message_id,
    parse_message_id_list,
    verify_message_id,
)

KEY = b"cle-de-test-aiguillage"


def test_round_trip() -> None:
    message_id = outgoing_message_id(3, 1234, KEY, "Champignac.Example")
    assert re.fullmatch(r"aig\.3\.1234\.[0-9a-f]{8}\.[0-9a-f]{20}@champignac\.example",
                        message_id)
    assert verify_message_id(message_id, KEY) == (3, 1234)
    assert verify_message_id(f"<{message_id}>", KEY) == (3, 1234)


def test_fixed_nonce_is_deterministic_and_random_nonces_differ() -> None:
    assert outgoing_message_id(1, 2, KEY, "x.example", nonce="abc") == \
        outgoing_message_id(1, 2, KEY, "x.example", nonce="abc")
    assert outgoing_message_id(1, 2, KEY, "x.example") != outgoing_message_id(1, 2, KEY,
                                                                               "x.example")


def _swap(message_id: str, index: int, value: str) -> str:
    local, _, domain = message_id.partition("@")
    parts = local.split(".")
    parts[index] = value
    return ".".join(parts) + "@" + domain


def test_tampering_is_refused() -> None:
    message_id = outgoing_message_id(3, 1234, KEY, "champignac.example", nonce="0a1b2c3d")
    assert verify_message_id(_swap(message_id, 1, "4"), KEY) is None  # commune
    assert verify_message_id(_swap(message_id, 2, "1235"), KEY) is None  # ticket
    assert verify_message_id(_swap(message_id, 2, "01234"), KEY) is None  # leading zero
    assert verify_message_id(_swap(message_id, 3, "0a1b2c3e"), KEY) is None  # nonce
    signature = message_id.split("@")[0].split(".")[4]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert verify_message_id(_swap(message_id, 4, flipped), KEY) is None
    assert verify_message_id(message_id, b"une-autre-cle") is None
    assert verify_message_id(message_id, b"") is None


def test_domain_is_informational() -> None:
    message_id = outgoing_message_id(3, 1234, KEY, "champignac.example")
    moved = message_id.split("@")[0] + "@relais.autre.example"
    assert verify_message_id(moved, KEY) == (3, 1234)


@pytest.mark.parametrize("garbage", [
    "", "   ", "<>", "aig", "aig.1.2.3", "aig.1.2.abc.0123456789abcdef0123",
    "aig.x.2.abc.0123456789abcdef0123@d", "aig.1.2.abc.0123456789abcdef01234@d",
    "aig.-1.2.abc.0123456789abcdef0123@d", "bonjour@exemple.fr", "\x00\x01@\x02",
    "aig.1.2.ABC DEF.0123456789abcdef0123@d", "a" * 5000,
])
def test_garbage_is_refused(garbage: str) -> None:
    assert verify_message_id(garbage, KEY) is None


def test_non_string_is_refused() -> None:
    assert verify_message_id(None, KEY) is None  # type: ignore[arg-type]
    assert verify_message_id(b"aig@x", KEY) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [
    {"commune_id": -1}, {"ticket_id": True}, {"key": b""}, {"domain": "a@b"},
    {"domain": ""}, {"nonce": "ABC"}, {"nonce": "a.b"}, {"nonce": ""},
])
def test_invalid_arguments(kwargs: dict) -> None:
    arguments = {"commune_id": 1, "ticket_id": 2, "key": KEY, "domain": "x.example"} | kwargs
    with pytest.raises(ValueError):
        outgoing_message_id(**arguments)


def test_shape_helpers() -> None:
    message_id = outgoing_message_id(3, 1234, KEY, "champignac.example")
    forged = _swap(message_id, 2, "99")
    assert looks_signed(forged) and claimed_ticket(forged) == (3, 99)
    assert not looks_signed("bonjour@exemple.fr") and claimed_ticket("x@y") is None


def test_normalise_and_lists() -> None:
    assert normalise_message_id(" <Abc@Exemple.FR> ") == "Abc@exemple.fr"
    assert normalise_message_id("<a b@c>") == "ab@c"
    assert normalise_message_id("sans-arobase") == "sans-arobase"
    assert normalise_message_id("") is None and normalise_message_id("<>") is None
    assert normalise_message_id("<" + "a" * 600 + "@x>") is None
    assert parse_message_id_list("<a@X> <b@y> <a@x>") == ("a@x", "b@y")
    assert parse_message_id_list("a@x b@y") == ("a@x", "b@y")
    assert parse_message_id_list(" ".join(f"<{i}@x>" for i in range(80)), limit=3) == (
        "77@x", "78@x", "79@x")
