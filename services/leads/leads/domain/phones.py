"""Phone numbers: E.164 normalisation, validity and line type (phonenumbers).

Two outcomes are deliberately distinct:
- text that is not a phone number at all (letters, nothing after '+', too short
  to parse) raises PhoneParseError -> a field error at capture;
- a number that parses but is not valid for its region is *kept* with
  valid=False: grading and refund checks rely on that flag, and refusing the
  whole lead would lose its other contact details.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from leads.domain.countries import same_country

MAX_RAW_LENGTH = 32
_NON_GEOGRAPHIC = "001"  # phonenumbers' region for global services (+800, +882...)
# Digits and the punctuation people type; letters ("ext", vanity words) are refused.
_ALLOWED = re.compile(r"[0-9+()./\s-]+")


class LineType(StrEnum):
    """phonenumbers' PhoneNumberType, as stable lower-case strings for storage/APIs."""

    FIXED_LINE = "fixed_line"
    MOBILE = "mobile"
    FIXED_LINE_OR_MOBILE = "fixed_line_or_mobile"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    VOIP = "voip"
    PERSONAL_NUMBER = "personal_number"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"


# Line types on which a person can be reached by SMS / mobile call.
MOBILE_LIKE = frozenset({LineType.MOBILE, LineType.FIXED_LINE_OR_MOBILE})

_TYPE_NAMES = {getattr(PhoneNumberType, member.name): member for member in LineType}


class PhoneParseError(ValueError):
    """The text cannot be read as a phone number at all."""


@dataclass(frozen=True)
class PhoneInfo:
    """A normalised phone number and what phonenumbers knows about it."""

    e164: str
    valid: bool
    line_type: LineType
    region: str | None  # ISO alpha-2 of the number; None if invalid or non-geographic
    country_code: int  # international calling code, e.g. 33

    def as_dict(self) -> dict[str, object]:
        return {
            "e164": self.e164,
            "valid": self.valid,
            "line_type": str(self.line_type),
            "region": self.region,
        }


def parse_phone(raw: str, default_region: str | None) -> PhoneInfo:
    """Parse `raw`, reading national formats as numbers of `default_region`.

    Numbers written with '+' or '00' keep their own country whatever the region.
    """
    text = raw.strip()
    if len(text) > MAX_RAW_LENGTH:
        raise PhoneParseError(f"at most {MAX_RAW_LENGTH} characters")
    if not _ALLOWED.fullmatch(text) or not any(c.isdigit() for c in text):
        raise PhoneParseError("only digits, spaces and + ( ) . / - are allowed")
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and default_region is None:
            raise PhoneParseError("use the international format (+33...) or give a valid country") from exc
        raise PhoneParseError("not a phone number") from exc
    valid = phonenumbers.is_valid_number(number)
    region = phonenumbers.region_code_for_number(number) if valid else None
    return PhoneInfo(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        valid=valid,
        line_type=_TYPE_NAMES.get(phonenumbers.number_type(number), LineType.UNKNOWN),
        region=None if region == _NON_GEOGRAPHIC else region,
        country_code=int(number.country_code or 0),
    )


def agrees_with_country(phone: PhoneInfo, country: str) -> bool | None:
    """Does the phone belong to `country`? None when the number cannot tell.

    A valid number knows its region. An invalid one still has a calling code:
    if that code is not the country's, it is certainly foreign; if it is (or the
    code is shared, like +1), we cannot tell.
    """
    if phone.region is not None:
        return same_country(phone.region, country)
    regions = phonenumbers.region_codes_for_country_code(phone.country_code)
    if not regions or regions == (_NON_GEOGRAPHIC,):
        return None
    if any(same_country(region, country) for region in regions):
        return None
    return False
