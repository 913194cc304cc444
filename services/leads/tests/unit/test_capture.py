"""Capture validation & normalisation (shared by HTTP and AMQP)."""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from leads.domain.capture import validate_capture
from leads.domain.lead import LEAD_FIELDS, CaptureResult
from leads.domain.phones import LineType
from suivi_common.errors import Invalid


def capture(raw: Any, now: datetime) -> CaptureResult:
    return validate_capture(raw, now)


def errors_for(raw: dict[str, Any], now: datetime, **changes: Any) -> dict[str, str]:
    payload = {**raw, **changes}
    for key in [k for k, v in changes.items() if v is ...]:
        del payload[key]
    return validate_capture(payload, now).errors


# --- the happy path -------------------------------------------------------------


def test_complete_payload_is_normalised(raw_lead: dict[str, Any], now: datetime) -> None:
    result = capture(raw_lead, now)
    assert result.ok and result.errors == {}
    lead = result.lead
    assert lead.first_name == "Jean"
    assert lead.country == "FR"
    assert lead.email == "jean.martin@example.fr"
    assert lead.mobile.e164 == "+33612345678"
    assert lead.mobile.valid is True
    assert lead.mobile.line_type is LineType.MOBILE
    assert lead.mobile.region == "FR"
    assert lead.landline.e164 == "+33123456789"
    assert lead.landline.line_type is LineType.FIXED_LINE
    assert lead.birth_date == date(1980, 5, 17)
    assert lead.consent_at == datetime(2025, 6, 1, 11, 58, tzinfo=UTC)
    assert lead.capture_ip == "203.0.113.7"
    assert lead.postal_code == "75001"


def test_minimal_payload_with_only_an_email(now: datetime) -> None:
    result = capture(
        {
            "first_name": "Ana",
            "last_name": "Silva",
            "email": "ana@example.pt",
            "country": "PT",
            "source_url": "http://example.pt",
            "consent_at": "2025-06-01T10:00:00Z",
        },
        now,
    )
    assert result.ok
    assert result.lead.mobile is None and result.lead.landline is None
    assert result.lead.birth_date is None and result.lead.capture_ip is None


def test_as_dict_covers_every_personal_data_field(raw_lead: dict[str, Any], now: datetime) -> None:
    data = capture(raw_lead, now).lead.as_dict()
    assert list(data) == list(LEAD_FIELDS)
    assert data["mobile"] == {
        "e164": "+33612345678",
        "valid": True,
        "line_type": "mobile",
        "region": "FR",
    }
    assert data["birth_date"] == "1980-05-17"
    assert data["consent_at"] == "2025-06-01T11:58:00+00:00"


def test_lead_is_immutable(raw_lead: dict[str, Any], now: datetime) -> None:
    lead = capture(raw_lead, now).lead
    with pytest.raises(AttributeError):
        lead.first_name = "Paul"


def test_unknown_fields_are_ignored(raw_lead: dict[str, Any], now: datetime) -> None:
    result = capture({**raw_lead, "utm_campaign": "x", "password": "y", "_meta": {}}, now)
    assert result.ok
    assert not hasattr(result.lead, "utm_campaign")


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("first_name", "  Jean  ", "Jean"),
        ("first_name", "Jean   Pierre", "Jean Pierre"),
        ("last_name", "\tMartin\n", "Martin"),
        ("city", "  Saint-Denis   de la   Réunion ", "Saint-Denis de la Réunion"),
        ("email", "  Jean.MARTIN@Example.FR ", "jean.martin@example.fr"),
        ("country", " fr ", "FR"),
        ("postal_code", "75 001", "75001"),
        ("capture_ip", "::ffff:203.0.113.7", "203.0.113.7"),
        ("capture_ip", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("income_goal", 2000, "2000"),
        ("time_available", 10, "10"),
        ("source_url", "  https://example.fr/a  ", "https://example.fr/a"),
    ],
)
def test_normalisation(raw_lead: dict[str, Any], now: datetime, field: str, raw: Any, expected: str) -> None:
    result = capture({**raw_lead, field: raw}, now)
    assert result.errors == {}
    assert getattr(result.lead, field) == expected


@pytest.mark.parametrize("empty", [None, "", "   ", "\t\n"])
@pytest.mark.parametrize(
    "field",
    [
        "call_window",
        "city",
        "professional_situation",
        "time_available",
        "income_goal",
        "birth_date",
        "postal_code",
        "capture_ip",
        "landline",
    ],
)
def test_empty_optional_fields_mean_absent(raw_lead: dict[str, Any], now: datetime, field: str,
                                           empty: str | None) -> None:
    result = capture({**raw_lead, field: empty}, now)
    assert result.ok
    assert getattr(result.lead, field) is None


# --- required fields ------------------------------------------------------------


@pytest.mark.parametrize("field", ["first_name", "last_name", "country", "source_url", "consent_at"])
@pytest.mark.parametrize("missing", [..., None, "", "  "])
def test_required_fields(raw_lead: dict[str, Any], now: datetime, field: str, missing: Any) -> None:
    # International phone numbers do not need the country to be parsed.
    payload = {**raw_lead, "mobile": "+33612345678", "landline": "+33123456789"}
    assert errors_for(payload, now, **{field: missing}) == {field: "required"}


def test_all_required_errors_are_reported_together(now: datetime) -> None:
    result = capture({}, now)
    assert not result.ok and result.lead is None
    assert set(result.errors) == {
        "first_name",
        "last_name",
        "country",
        "source_url",
        "consent_at",
        "contact",
    }


@pytest.mark.parametrize(
    "contacts",
    [
        {"email": "a@example.fr"},
        {"mobile": "0612345678"},
        {"landline": "0123456789"},
    ],
)
def test_one_contact_is_enough(raw_lead: dict[str, Any], now: datetime, contacts: dict[str, Any]) -> None:
    payload = {**raw_lead, "email": None, "mobile": None, "landline": None, **contacts}
    assert capture(payload, now).ok


def test_no_contact_is_reported_on_contact(raw_lead: dict[str, Any], now: datetime) -> None:
    errors = errors_for(raw_lead, now, email=..., mobile="", landline=None)
    assert errors == {"contact": "give at least one of email, mobile or landline"}


def test_a_bad_only_contact_is_reported_on_its_own_field(raw_lead: dict[str, Any], now: datetime) -> None:
    errors = errors_for(raw_lead, now, email="not-an-email", mobile=None, landline=None)
    assert set(errors) == {"email"}


# --- types, lengths, control characters ----------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", 12),
        ("first_name", ["Jean"]),
        ("email", {"a": 1}),
        ("city", True),
        ("income_goal", True),
        ("mobile", 612345678),
        ("country", 33),
    ],
)
def test_non_string_values_are_refused(raw_lead: dict[str, Any], now: datetime, field: str,
                                       value: Any) -> None:
    payload = {**raw_lead, "mobile": "+33612345678", "landline": "+33123456789"}
    assert errors_for(payload, now, **{field: value}) == {field: "must be a string"}


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("first_name", 100),
        ("last_name", 100),
        ("city", 100),
        ("call_window", 100),
        ("professional_situation", 100),
        ("time_available", 100),
        ("income_goal", 100),
    ],
)
def test_length_limits(raw_lead: dict[str, Any], now: datetime, field: str, limit: int) -> None:
    assert capture({**raw_lead, field: "a" * limit}, now).ok
    assert errors_for(raw_lead, now, **{field: "a" * (limit + 1)}) == {field: f"at most {limit} characters"}


def test_length_is_measured_after_trimming(raw_lead: dict[str, Any], now: datetime) -> None:
    assert capture({**raw_lead, "city": "  " + "a" * 100 + "  "}, now).ok


def test_source_url_limit(raw_lead: dict[str, Any], now: datetime) -> None:
    url = "https://example.fr/" + "a" * 2100
    assert errors_for(raw_lead, now, source_url=url) == {"source_url": "at most 2048 characters"}


@pytest.mark.parametrize("value", ["Jean\x00", "Je\x1ban", "Jean\x7f", "Jean\ud800"])
def test_control_characters_are_refused(raw_lead: dict[str, Any], now: datetime, value: str) -> None:
    assert errors_for(raw_lead, now, first_name=value) == {"first_name": "contains control characters"}


def test_payload_must_be_a_mapping(now: datetime) -> None:
    result = capture(["first_name", "Jean"], now)
    assert result.errors == {"payload": "must be an object"}


def test_now_must_be_timezone_aware(raw_lead: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        capture(raw_lead, datetime(2025, 6, 1, 12, 0))


def test_or_raise_gives_invalid_with_fields(raw_lead: dict[str, Any], now: datetime) -> None:
    result = capture({**raw_lead, "email": "nope", "country": "XX"}, now)
    with pytest.raises(Invalid) as caught:
        result.or_raise()
    # Without a valid country the national-format phones cannot be read either.
    assert set(caught.value.fields) == {"email", "country", "mobile", "landline"}
    assert caught.value.fields["country"] == "unknown country code 'XX'"


def test_or_raise_returns_the_lead(raw_lead: dict[str, Any], now: datetime) -> None:
    assert capture(raw_lead, now).or_raise().last_name == "Martin"


# --- email ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "plainaddress",
        "a@b",
        "a@@example.fr",
        "a b@example.fr",
        "a@localhost",
        "x@foo.test",
        "jean@[192.0.2.1]",
        "@example.fr",
        "jean@",
        "a" * 250 + "@ex.fr",
    ],
)
def test_invalid_email_syntax(raw_lead: dict[str, Any], now: datetime, email: str) -> None:
    assert set(errors_for(raw_lead, now, email=email)) == {"email"}


def test_international_email_is_kept_in_unicode_lower_case(raw_lead: dict[str, Any], now: datetime) -> None:
    lead = capture({**raw_lead, "email": "Élodie@Exämple.fr"}, now).lead
    assert lead.email == "élodie@exämple.fr"


# --- country ------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["XX", "UK", "FRA", "France", "F", "1A", "ÉÉ"])
def test_country_must_be_iso_alpha2(raw_lead: dict[str, Any], now: datetime, country: str) -> None:
    errors = errors_for(raw_lead, now, country=country, mobile=None, landline=None, postal_code=None)
    assert set(errors) == {"country"}


@pytest.mark.parametrize("country", ["BE", "CH", "GB", "de", "Lu"])
def test_other_countries_accepted(raw_lead: dict[str, Any], now: datetime, country: str) -> None:
    payload = {**raw_lead, "country": country, "mobile": None, "landline": None, "postal_code": None}
    assert capture(payload, now).lead.country == country.upper()


# --- phones -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "mobile", "e164", "line_type"),
    [
        ("FR", "06 12 34 56 78", "+33612345678", LineType.MOBILE),
        ("FR", "+33 6 12 34 56 78", "+33612345678", LineType.MOBILE),
        ("FR", "0033612345678", "+33612345678", LineType.MOBILE),
        ("FR", "(06) 12.34.56.78", "+33612345678", LineType.MOBILE),
        ("BE", "0470 12 34 56", "+32470123456", LineType.MOBILE),
        ("CH", "078 123 45 67", "+41781234567", LineType.MOBILE),
        ("US", "(202) 555-0143", "+12025550143", LineType.FIXED_LINE_OR_MOBILE),
    ],
)
def test_phone_is_parsed_in_the_leads_country(raw_lead: dict[str, Any], now: datetime, country: str,
                                              mobile: str, e164: str, line_type: LineType) -> None:
    payload = {**raw_lead, "country": country, "mobile": mobile, "landline": None, "postal_code": None}
    lead = capture(payload, now).lead
    assert lead.mobile.e164 == e164
    assert lead.mobile.valid is True
    assert lead.mobile.line_type is line_type


@pytest.mark.parametrize("mobile", ["0612", "06 12 34", "+33 6 12 34 56 78 90 12"])
def test_parsable_but_invalid_phone_is_kept_as_invalid(raw_lead: dict[str, Any], now: datetime,
                                                       mobile: str) -> None:
    lead = capture({**raw_lead, "mobile": mobile}, now).lead
    assert lead is not None
    assert lead.mobile.valid is False
    assert lead.mobile.line_type is LineType.UNKNOWN
    assert lead.mobile.region is None
    assert lead.mobile.e164.startswith("+33")


@pytest.mark.parametrize(
    "mobile",
    [
        "abc",
        "06 12 AB CD EF",
        "0612345678 ext 12",
        "+",
        "+999 1234",
        "--",
        "1" * 33,
        "06 12 34 56 78; DROP TABLE",
    ],
)
def test_unparsable_phone_is_a_field_error(raw_lead: dict[str, Any], now: datetime, mobile: str) -> None:
    assert set(errors_for(raw_lead, now, mobile=mobile)) == {"mobile"}


def test_national_number_without_a_country_needs_international_format(raw_lead: dict[str, Any],
                                                                      now: datetime) -> None:
    errors = errors_for(raw_lead, now, country=None, postal_code=None)
    assert errors["country"] == "required"
    assert "international format" in errors["mobile"]


def test_international_number_without_country_still_reports_only_country(raw_lead: dict[str, Any],
                                                                         now: datetime) -> None:
    errors = errors_for(raw_lead, now, country=None, postal_code=None, mobile="+33612345678", landline=None)
    assert errors == {"country": "required"}


@pytest.mark.parametrize(
    ("field", "number", "origin"),
    [
        ("mobile", "+32 470 12 34 56", "BE"),
        ("mobile", "+41 78 123 45 67", "CH"),
        ("landline", "+32 2 511 11 11", "BE"),
        ("mobile", "+32 12", "+32"),  # invalid, but +32 is certainly not France
    ],
)
def test_phone_from_another_country_is_refused(raw_lead: dict[str, Any], now: datetime, field: str,
                                               number: str, origin: str) -> None:
    errors = errors_for(raw_lead, now, **{field: number})
    assert errors == {field: f"number is from {origin}, not from the lead's country FR"}


@pytest.mark.parametrize(
    ("country", "number", "postal_code"),
    [
        ("FR", "+262 692 12 34 56", "97400"),  # Réunion mobile on a "France" lead
        ("RE", "06 12 34 56 78", "97400"),  # metropolitan mobile on a Réunion lead
        ("GB", "+44 7781 123456", "SW1A 1AA"),  # Guernsey range on a UK lead
        ("GG", "+44 7781 123456", "GY1 1AA"),
    ],
)
def test_same_country_territories_agree(raw_lead: dict[str, Any], now: datetime, country: str, number: str,
                                        postal_code: str) -> None:
    payload = {
        **raw_lead,
        "country": country,
        "mobile": number,
        "landline": None,
        "postal_code": postal_code,
    }
    result = capture(payload, now)
    assert result.errors == {}


def test_invalid_number_with_the_right_calling_code_is_not_a_country_error(raw_lead: dict[str, Any],
                                                                           now: datetime) -> None:
    assert capture({**raw_lead, "mobile": "+33 6 12"}, now).ok


# --- postal codes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "code", "expected"),
    [
        ("FR", "75001", "75001"),
        ("FR", "20000", "20000"),
        ("FR", "97400", "97400"),
        ("BE", "1000", "1000"),
        ("CH", "8001", "8001"),
        ("LU", "L-1009", "1009"),
        ("LU", "1009", "1009"),
        ("ES", "28001", "28001"),
        ("ES", "52001", "52001"),
        ("DE", "10115", "10115"),
        ("DE", "01067", "01067"),
        ("IT", "00184", "00184"),
        ("PT", "1000-001", "1000-001"),
        ("PT", "1000001", "1000-001"),
        ("PT", "1000 001", "1000-001"),
        ("GB", "sw1a 1aa", "SW1A 1AA"),
        ("GB", "SW1A1AA", "SW1A 1AA"),
        ("GB", "M1 1AE", "M1 1AE"),
        ("GB", "EC1A 1BB", "EC1A 1BB"),
        ("NL", "1011ab", "1011 AB"),
        ("US", "20500", "20500"),
        ("CA", "K1A 0B1", "K1A 0B1"),
    ],
)
def test_valid_postal_codes(raw_lead: dict[str, Any], now: datetime, country: str, code: str,
                            expected: str) -> None:
    payload = {**raw_lead, "country": country, "postal_code": code, "mobile": None, "landline": None}
    result = capture(payload, now)
    assert result.errors == {}
    assert result.lead.postal_code == expected


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("FR", "7500"),
        ("FR", "750011"),
        ("FR", "00100"),
        ("FR", "99000"),
        ("FR", "7500A"),
        ("FR", "1000"),  # a Belgian code on a French lead
        ("BE", "75001"),
        ("BE", "0999"),
        ("CH", "80011"),
        ("ES", "53001"),
        ("ES", "00001"),
        ("DE", "1011"),
        ("DE", "00123"),
        ("IT", "0018"),
        ("PT", "1000"),
        ("PT", "0100-001"),
        ("LU", "10090"),
        ("GB", "75001"),
        ("GB", "SW1A"),
        ("US", "!!"),
        ("US", "a"),
    ],
)
def test_postal_code_must_fit_the_country(raw_lead: dict[str, Any], now: datetime, country: str,
                                          code: str) -> None:
    payload = {**raw_lead, "country": country, "postal_code": code, "mobile": None, "landline": None}
    assert set(capture(payload, now).errors) == {"postal_code"}


def test_postal_code_error_gives_an_example(raw_lead: dict[str, Any], now: datetime) -> None:
    assert errors_for(raw_lead, now, postal_code="7500") == {
        "postal_code": "not a postal code of FR (e.g. 75001)"
    }


# --- birth date ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "ok"),
    [
        ("2009-06-01", True),  # 16 today
        ("2009-06-02", False),  # 16 tomorrow
        ("1915-06-01", True),  # 110 today
        ("1914-06-02", True),  # 110, 111 tomorrow
        ("1914-06-01", False),  # 111 today
        ("2020-01-01", False),
        ("2030-01-01", False),  # future
        ("1980-02-29", True),
    ],
)
def test_birth_date_age_bounds(raw_lead: dict[str, Any], now: datetime, birth: str, ok: bool) -> None:
    errors = errors_for(raw_lead, now, birth_date=birth)
    if ok:
        assert errors == {}
    else:
        assert errors == {"birth_date": "age must be between 16 and 110"}


@pytest.mark.parametrize(
    "birth",
    ["17/05/1980", "1980-13-01", "1980-02-30", "19800517", "1980-5-17", "hier", "1980-05-17T00:00:00"],
)
def test_birth_date_must_be_iso(raw_lead: dict[str, Any], now: datetime, birth: str) -> None:
    assert errors_for(raw_lead, now, birth_date=birth) == {"birth_date": "must be an ISO date YYYY-MM-DD"}


# --- consent -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consent", "expected"),
    [
        ("2025-06-01T11:00:00Z", datetime(2025, 6, 1, 11, tzinfo=UTC)),
        ("2025-06-01T13:00:00+02:00", datetime(2025, 6, 1, 11, tzinfo=UTC)),
        ("2025-06-01T12:04:59Z", datetime(2025, 6, 1, 12, 4, 59, tzinfo=UTC)),  # clock skew
        ("2020-01-01T00:00:00.123456+00:00", datetime(2020, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_consent_at_accepted(raw_lead: dict[str, Any], now: datetime, consent: str,
                             expected: datetime) -> None:
    assert capture({**raw_lead, "consent_at": consent}, now).lead.consent_at == expected


def test_consent_at_keeps_the_given_offset(raw_lead: dict[str, Any], now: datetime) -> None:
    lead = capture({**raw_lead, "consent_at": "2025-06-01T13:00:00+02:00"}, now).lead
    assert lead.consent_at.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("consent", "message"),
    [
        ("2025-06-01T12:05:01Z", "must not be in the future"),
        ("2025-06-02T00:00:00Z", "must not be in the future"),
        ("2025-06-01T14:06:00+02:00", "must not be in the future"),
        ("2025-06-01T11:00:00", "timestamp must include a timezone offset"),
        ("2025-06-01", "timestamp must include a timezone offset"),
        ("01/06/2025 11:00", "must be an ISO-8601 timestamp"),
        ("yesterday", "must be an ISO-8601 timestamp"),
        ("2025-06-01T25:00:00Z", "must be an ISO-8601 timestamp"),
    ],
)
def test_consent_at_refused(raw_lead: dict[str, Any], now: datetime, consent: str, message: str) -> None:
    assert errors_for(raw_lead, now, consent_at=consent) == {"consent_at": message}


def test_consent_at_may_be_an_aware_datetime(raw_lead: dict[str, Any], now: datetime) -> None:
    consent = datetime(2025, 6, 1, 9, tzinfo=timezone(timedelta(hours=-3)))
    assert capture({**raw_lead, "consent_at": consent}, now).lead.consent_at == consent


def test_consent_at_naive_datetime_refused(raw_lead: dict[str, Any], now: datetime) -> None:
    errors = errors_for(raw_lead, now, consent_at=datetime(2025, 6, 1, 9))
    assert errors == {"consent_at": "timestamp must include a timezone offset"}


# --- source url & ip ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.fr",
        "example.fr/form",
        "javascript:alert(1)",
        "https://",
        "http:///path",
        "https://exa mple.fr",
        "mailto:a@example.fr",
        "//example.fr",
        "https://[::1",
    ],
)
def test_source_url_must_be_http(raw_lead: dict[str, Any], now: datetime, url: str) -> None:
    assert errors_for(raw_lead, now, source_url=url) == {"source_url": "must be an http(s) URL"}


@pytest.mark.parametrize("url", ["HTTPS://EXAMPLE.FR", "http://localhost:8080/x", "https://a.b/c?d=e#f"])
def test_source_url_accepted(raw_lead: dict[str, Any], now: datetime, url: str) -> None:
    assert capture({**raw_lead, "source_url": url}, now).lead.source_url == url


@pytest.mark.parametrize("ip", ["256.1.1.1", "1.2.3", "example.fr", "::g", "1.2.3.4/24"])
def test_capture_ip_must_be_an_ip(raw_lead: dict[str, Any], now: datetime, ip: str) -> None:
    assert errors_for(raw_lead, now, capture_ip=ip) == {"capture_ip": "must be an IPv4 or IPv6 address"}
