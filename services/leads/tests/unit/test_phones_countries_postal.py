"""Building blocks: phone parsing, countries, postal codes, timestamps."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from leads.domain import postal_codes
from leads.domain.capture import validate_capture
from leads.domain.countries import country_error, same_country
from leads.domain.email_address import parse_email
from leads.domain.phones import LineType, PhoneParseError, agrees_with_country, parse_phone
from leads.domain.timestamps import age_on, parse_aware_datetime, require_aware


@pytest.mark.parametrize(
    ("raw", "region", "e164", "valid", "line_type", "number_region"),
    [
        ("06 12 34 56 78", "FR", "+33612345678", True, LineType.MOBILE, "FR"),
        ("+33612345678", None, "+33612345678", True, LineType.MOBILE, "FR"),
        ("01 23 45 67 89", "FR", "+33123456789", True, LineType.FIXED_LINE, "FR"),
        ("09 12 34 56 78", "FR", "+33912345678", True, LineType.VOIP, "FR"),
        ("0800 123 456", "FR", "+33800123456", True, LineType.TOLL_FREE, "FR"),
        ("+1 613 555 0123", "FR", "+16135550123", True, LineType.FIXED_LINE_OR_MOBILE, "CA"),
        ("+800 1234 5678", None, "+80012345678", True, LineType.TOLL_FREE, None),  # non-geographic
        ("0612", "FR", "+330612", False, LineType.UNKNOWN, None),
    ],
)
def test_parse_phone(raw: str, region: str | None, e164: str, valid: bool, line_type: LineType,
                     number_region: str | None) -> None:
    info = parse_phone(raw, region)
    assert (info.e164, info.valid, info.line_type, info.region) == (e164, valid, line_type, number_region)


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("", "FR"),
        ("   ", "FR"),
        ("abc", "FR"),
        ("+", "FR"),
        ("06 12 34 56 78", None),
        ("+999 123", None),
        ("06.12.34.56.78 poste 12", "FR"),
        ("1" * 33, "FR"),
    ],
)
def test_parse_phone_errors(raw: str, region: str | None) -> None:
    with pytest.raises(PhoneParseError):
        parse_phone(raw, region)


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+33612345678", "FR", True),
        ("+33612345678", "BE", False),
        ("+262692123456", "FR", True),  # Réunion counts as France
        ("+12025550143", "CA", False),  # valid US number: its region is known
        ("+1555", "CA", None),  # invalid, +1 is shared by CA and US: cannot tell
        ("+1555", "FR", False),  # +1 is certainly not France
        ("+80012345678", "FR", None),  # international freephone
        ("+3312", "FR", None),
    ],
)
def test_agrees_with_country(raw: str, country: str, expected: bool | None) -> None:
    assert agrees_with_country(parse_phone(raw, None), country) is expected


@pytest.mark.parametrize(("raw", "code"), [("fr", "FR"), (" Be ", "BE"), ("GB", "GB"), ("re", "RE")])
def test_a_capture_takes_the_platforms_country_codes(raw_lead: dict[str, Any], now: datetime, raw: str,
                                                     code: str) -> None:
    """``suivi_common.countries.country_code``: the one country rule of every service."""
    result = validate_capture({**raw_lead, "country": raw, "mobile": "+33612345678", "landline": None}, now)
    assert "country" not in result.errors
    assert result.lead is None or result.lead.country == code


@pytest.mark.parametrize(("raw", "error"), [
    ("F", "must be an ISO 3166-1 alpha-2 code, e.g. FR"),
    ("FRA", "must be an ISO 3166-1 alpha-2 code, e.g. FR"),
    ("12", "must be an ISO 3166-1 alpha-2 code, e.g. FR"),
    ("France", "must be an ISO 3166-1 alpha-2 code, e.g. FR"),
    ("ÉS", "must be an ISO 3166-1 alpha-2 code, e.g. FR"),
    ("uk", "unknown country code 'UK'"),
    ("XX", "unknown country code 'XX'"),
])
def test_a_capture_refuses_other_countries_saying_why(raw_lead: dict[str, Any], now: datetime, raw: str,
                                                      error: str) -> None:
    assert validate_capture({**raw_lead, "country": raw}, now).errors["country"] == error
    assert country_error(raw) == error


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("FR", "FR", True),
        ("fr", "FR", True),
        ("FR", "RE", True),
        ("GP", "MQ", True),
        ("GB", "JE", True),
        ("FR", "BE", False),
        ("FR", "MC", False),
        ("GB", "IE", False),
        ("US", "CA", False),
    ],
)
def test_same_country(a: str, b: str, same: bool) -> None:
    assert same_country(a, b) is same
    assert same_country(b, a) is same


@pytest.mark.parametrize(
    ("country", "code", "verdict"),
    [
        ("FR", "75001", True),
        ("FR", "7500", False),
        ("BE", "1000", True),
        ("US", "20500", None),
        ("MC", "98000", True),
        ("RE", "97400", True),
        ("RE", "75001", False),
    ],
)
def test_matches_country(country: str, code: str, verdict: bool | None) -> None:
    assert postal_codes.matches_country(country, code) is verdict


def test_every_known_format_accepts_its_own_example() -> None:
    for country, fmt in postal_codes.FORMATS.items():
        assert postal_codes.matches_country(country, postal_codes.canonical_form(country, fmt.example)), (
            country
        )


def test_parse_email() -> None:
    address = parse_email(" Jean.Martin@Exämple.FR ")
    assert address.normalized == "jean.martin@exämple.fr"
    assert address.ascii_domain == "xn--exmple-cua.fr"


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2000, 6, 1), date(2025, 6, 1), 25),
        (date(2000, 6, 2), date(2025, 6, 1), 24),
        (date(2000, 2, 29), date(2025, 2, 28), 24),
        (date(2000, 2, 29), date(2025, 3, 1), 25),
    ],
)
def test_age_on(birth: date, today: date, age: int) -> None:
    assert age_on(birth, today) == age


def test_parse_aware_datetime() -> None:
    assert parse_aware_datetime("2025-06-01T10:00:00Z") == datetime(2025, 6, 1, 10, tzinfo=UTC)
    assert parse_aware_datetime("2025-06-01T10:00:00z") == datetime(2025, 6, 1, 10, tzinfo=UTC)
    assert parse_aware_datetime("2025-06-01T12:00:00+02:00").utcoffset() == timedelta(hours=2)
    for bad in ("2025-06-01T10:00:00", "", "x" * 41, "nope"):
        with pytest.raises(ValueError):
            parse_aware_datetime(bad)


def test_require_aware() -> None:
    aware = datetime(2025, 1, 1, tzinfo=UTC)
    assert require_aware(aware, "t") is aware
    with pytest.raises(ValueError):
        require_aware(datetime(2025, 1, 1), "t")
    with pytest.raises(TypeError):
        require_aware(date(2025, 1, 1), "t")
