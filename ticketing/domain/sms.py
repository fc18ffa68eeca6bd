"""Text messages: which phone numbers can receive one, and the gateway address for them.

Communes reach mobiles through their operator's e-mail-to-SMS gateway: a mail sent to
``<number>@<gateway domain>`` is delivered as a text message.
"""

from __future__ import annotations

import re

NUMBER_PLACEHOLDER = "{numero}"

# French mobiles: 06 and 07, in metropolitan France (+33); overseas mobiles use their own
# country codes (+262 La Réunion/Mayotte, +590 Guadeloupe, +594 Guyane, +596 Martinique).
_OVERSEAS_MOBILE = re.compile(r"^(262|590|594|596)6\d{8}$")


def mobile_number(phone: str | None) -> str | None:
    """The international number (digits only, e.g. ``33612345678``) when ``phone`` is a
    French mobile number, written in any usual way; None otherwise (landlines included)."""
    if not phone:
        return None
    digits = re.sub(r"[\s.\-()/]", "", phone)
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif re.fullmatch(r"0[67]\d{8}", digits):
        digits = "33" + digits[1:]
    if not digits.isdigit():
        return None
    if re.fullmatch(r"33[67]\d{8}", digits) or _OVERSEAS_MOBILE.match(digits):
        return digits
    return None


def gateway_address(template: str, number: str) -> str:
    """The gateway's address for ``number`` (``template`` holds ``{numero}``)."""
    return template.replace(NUMBER_PLACEHOLDER, number)
