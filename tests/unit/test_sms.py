"""Which phone numbers get the acknowledgement by SMS, and the gateway configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ticketing.config.schema import SmsGateway
from ticketing.domain.sms import gateway_address, mobile_number


@pytest.mark.parametrize(("written", "number"), [
    ("06 12 34 56 78", "33612345678"),
    ("07.12.34.56.78", "33712345678"),
    ("+33 6 12 34 56 78", "33612345678"),
    ("0033612345678", "33612345678"),
    ("+262 692 12 34 56", "262692123456"),   # La Réunion
    ("04 71 00 00 00", None),                 # a landline gets no SMS
    ("01 23 45 67 89", None),
    ("06 12 34", None),
    ("", None),
    (None, None),
])
def test_only_mobiles_get_a_text_message(written: str | None, number: str | None) -> None:
    assert mobile_number(written) == number


def test_the_gateway_address_holds_the_number() -> None:
    assert gateway_address("{numero}@sms.operateur.example", "33612345678") == \
        "33612345678@sms.operateur.example"


@pytest.mark.parametrize("address", ["sms@operateur.example", "{numero}", "{numero}@localhost"])
def test_a_gateway_without_number_or_domain_is_refused_with_an_example(address: str) -> None:
    with pytest.raises(ValidationError, match="numero"):
        SmsGateway(email_gateway=address)
