"""Capture validation: the one pipeline shared by the HTTP form and the AMQP feed.

Policy choices (kept here so both entrypoints behave identically):
- Unknown keys are ignored, not rejected: forms evolve faster than this service
  and broker envelopes carry extra metadata. Only LEAD_FIELDS are ever read.
- None, "" and whitespace-only values mean "absent".
- Required: first_name, last_name, country, source_url, consent_at, and at least
  one way to reach the person. When none of email/mobile/landline is given the
  error is reported on the pseudo-field "contact"; when one is given but wrong,
  the error is on that field only.
- A phone that is not a phone at all is an error; a parsable but invalid number
  is kept with valid=False (see phones.py).
- Country must agree with the phones and the postal code wherever those can
  tell; the error is put on the phone/postal field, which is the one to fix.
- consent_at may be up to CONSENT_CLOCK_SKEW ahead of `now`: form servers'
  clocks drift, and a real consent is never refused for a few seconds.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from leads.domain import postal_codes
from leads.domain.countries import country_error
from leads.domain.email_address import parse_email
from leads.domain.lead import CONTACT_FIELDS, PHONE_FIELDS, CaptureResult, LeadData
from leads.domain.phones import PhoneInfo, PhoneParseError, agrees_with_country, parse_phone
from leads.domain.timestamps import age_on, parse_aware_datetime, require_aware
from suivi_common.countries import country_code

TEXT_LIMITS: dict[str, int] = {
    "first_name": 100,
    "last_name": 100,
    "call_window": 100,
    "city": 100,
    "professional_situation": 100,
    "time_available": 100,
    "income_goal": 100,
    "postal_code": 16,
    "country": 60,
    "email": 254,
    "mobile": 32,
    "landline": 32,
    "birth_date": 40,
    "consent_at": 40,
    "source_url": 2048,
    "capture_ip": 45,
}
# Fields a sender may reasonably serialise as a number (e.g. income_goal: 2000).
NUMBER_OK = frozenset({"income_goal", "time_available"})
REQUIRED = ("first_name", "last_name", "country", "source_url", "consent_at")
DIRECT_REQUIRED = ("first_name", "last_name", "country")
CONSENT_CLOCK_SKEW = timedelta(minutes=5)
MIN_AGE = 16
MAX_AGE = 110

# Control characters, and lone surrogates (a JSON "\ud800" escape, from the AMQP feed too):
# no field may hold one, nor be encrypted or exported with one.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Form:
    """Reads raw values one field at a time, collecting errors instead of stopping."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.errors: dict[str, str] = {}

    def text(self, name: str) -> str | None:
        """Trimmed text with inner whitespace collapsed; None when absent or invalid."""
        value = self.raw.get(name)
        if value is None:
            return None
        if name in NUMBER_OK and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.errors[name] = "must be a string"
            return None
        text = " ".join(value.split())
        if not text:
            return None
        if _CONTROL.search(text):
            self.errors[name] = "contains control characters"
            return None
        limit = TEXT_LIMITS[name]
        if len(text) > limit:
            self.errors[name] = f"at most {limit} characters"
            return None
        return text

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def validate_capture(raw: Mapping[str, Any], now: datetime,
                     provenance: bool = True) -> CaptureResult:
    """Validate and normalise a captured lead; never raises for bad input.

    ``provenance=False``: a lead the user met in person and enters as its controller
    (issue 13 §7, ``source: "direct"``) needs no source URL nor consent timestamp; any
    given are still checked."""
    require_aware(now, "now")
    if not isinstance(raw, Mapping):
        return CaptureResult(lead=None, errors={"payload": "must be an object"})
    form = _Form(raw)
    values: dict[str, Any] = {
        name: form.text(name)
        for name in (
            "first_name",
            "last_name",
            "call_window",
            "city",
            "professional_situation",
            "time_available",
            "income_goal",
        )
    }
    country = _country(form)
    values["country"] = country
    values["email"] = _email(form)
    for name in PHONE_FIELDS:
        values[name] = _phone(form, name, country)
    values["postal_code"] = _postal_code(form, country)
    values["birth_date"] = _birth_date(form, now)
    values["consent_at"] = _consent_at(form, now)
    values["source_url"] = _source_url(form)
    values["capture_ip"] = _capture_ip(form)

    for name in REQUIRED if provenance else DIRECT_REQUIRED:
        if values[name] is None and name not in form.errors:
            form.fail(name, "required")
    if not any(_given(raw.get(name)) for name in CONTACT_FIELDS):
        form.fail("contact", "give at least one of email, mobile or landline")

    if form.errors:
        return CaptureResult(lead=None, errors=form.errors)
    return CaptureResult(lead=LeadData(**values))


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _country(form: _Form) -> str | None:
    text = form.text("country")
    if text is None:
        return None
    code = country_code(text)
    if code is None:
        form.fail("country", country_error(text))
    return code


def _email(form: _Form) -> str | None:
    text = form.text("email")
    if text is None:
        return None
    try:
        return parse_email(text).normalized
    except ValueError as exc:
        form.fail("email", str(exc))
        return None


def _phone(form: _Form, name: str, country: str | None) -> PhoneInfo | None:
    text = form.text(name)
    if text is None:
        return None
    try:
        phone = parse_phone(text, country)
    except PhoneParseError as exc:
        form.fail(name, str(exc))
        return None
    if country is not None and agrees_with_country(phone, country) is False:
        origin = phone.region or f"+{phone.country_code}"
        form.fail(name, f"number is from {origin}, not from the lead's country {country}")
    return phone


def _postal_code(form: _Form, country: str | None) -> str | None:
    text = form.text("postal_code")
    if text is None:
        return None
    code = postal_codes.canonical_form(country, text)
    verdict = postal_codes.matches_country(country, code) if country else None
    if verdict is False:
        example = postal_codes.example_for(country or "")
        form.fail("postal_code", f"not a postal code of {country} (e.g. {example})")
        return None
    if verdict is None and not postal_codes.looks_like_postal_code(code):
        form.fail("postal_code", "not a postal code")
        return None
    return code


def _birth_date(form: _Form, now: datetime) -> date | None:
    text = form.text("birth_date")
    if text is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        born = date.fromisoformat(text)
    except ValueError:
        form.fail("birth_date", "must be an ISO date YYYY-MM-DD")
        return None
    age = age_on(born, now.date())
    if not MIN_AGE <= age <= MAX_AGE:
        form.fail("birth_date", f"age must be between {MIN_AGE} and {MAX_AGE}")
        return None
    return born


def _consent_at(form: _Form, now: datetime) -> datetime | None:
    value = form.raw.get("consent_at")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            form.fail("consent_at", "timestamp must include a timezone offset")
            return None
        consent = value
    else:
        text = form.text("consent_at")
        if text is None:
            return None
        try:
            consent = parse_aware_datetime(text)
        except ValueError as exc:
            message = str(exc) if "offset" in str(exc) else "must be an ISO-8601 timestamp"
            form.fail("consent_at", message)
            return None
    if consent > now + CONSENT_CLOCK_SKEW:
        form.fail("consent_at", "must not be in the future")
        return None
    return consent


def _source_url(form: _Form) -> str | None:
    text = form.text("source_url")
    if text is None:
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host or " " in text:
        form.fail("source_url", "must be an http(s) URL")
        return None
    return text


def _capture_ip(form: _Form) -> str | None:
    text = form.text("capture_ip")
    if text is None:
        return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        form.fail("capture_ip", "must be an IPv4 or IPv6 address")
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # proxies report IPv4 clients as ::ffff:a.b.c.d
    return str(ip)
