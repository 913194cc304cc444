"""Registration data the user keeps accurate themselves (terms art. 3.A, 4.A): email,
names, phone and postal address, validated and normalised here."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers

from suivi_common.countries import country_code
from suivi_common.errors import FieldError

EMAIL_MAX = 254
NAME_MAX = 100
DEFAULT_PHONE_REGION = "FR"
ADDRESS_FIELDS = {"line1": 200, "line2": 200, "postal_code": 20, "city": 100, "country": 2}
ADDRESS_REQUIRED = ("line1", "postal_code", "city", "country")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class ProfileError(FieldError):
    """A field-level problem: ``field`` names the input, the message is for the user."""


def normalise_email(value: object, field: str = "email") -> str:
    """Trimmed and lower-cased: the form used for uniqueness, login and storage."""
    if not isinstance(value, str):
        raise ProfileError(field, "An email address is required.")
    email = value.strip().lower()
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise ProfileError(field, "This is not a valid email address.")
    return email


def clean_name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(field, "This field is required.")
    name = " ".join(value.split())
    if len(name) > NAME_MAX:
        raise ProfileError(field, f"At most {NAME_MAX} characters.")
    return name


def normalise_phone(value: object, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """E.164 (``+33612345678``); national numbers are read as French. Empty clears."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ProfileError("phone", "This is not a phone number.")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ProfileError("phone", "This is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise ProfileError("phone", "This is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_address(value: object) -> dict[str, str] | None:
    """``{line1, line2, postal_code, city, country}``; None or {} clears the address."""
    if value is None or value == {}:
        return None
    if not isinstance(value, Mapping):
        raise ProfileError("address", "The address must be an object with line1, line2, "
                                      "postal_code, city and country.")
    unknown = sorted(set(value) - set(ADDRESS_FIELDS))
    if unknown:
        raise ProfileError("address", f"Unknown address field(s): {', '.join(unknown)}.")
    address: dict[str, str] = {}
    for key, max_len in ADDRESS_FIELDS.items():
        raw: Any = value.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if key in ADDRESS_REQUIRED:
                raise ProfileError("address", f"The address needs a {key}.")
            continue
        if not isinstance(raw, str):
            raise ProfileError("address", f"The address {key} must be text.")
        text = " ".join(raw.split())
        if len(text) > max_len:
            raise ProfileError("address", f"The address {key} is too long.")
        address[key] = text
    code = country_code(address["country"])
    if code is None:
        raise ProfileError("address", "The address country must be an ISO 3166 alpha-2 code.")
    address["country"] = code
    return address
