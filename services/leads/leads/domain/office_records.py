"""Pure helpers of the office: the stored form of a lead, edits, search keys, views.

The stored form is ``LeadData.as_dict()`` (what capture stores in ``leads.pii``): phones
as ``{e164, valid, line_type, region}``, dates ISO. A personal lead and an edit go through
the capture pipeline (``domain.capture.validate_capture``), so a lead in the office is
always something capture would have accepted.

Search keys are normalised here, once, so the value hashed into a blind index at write
time and the one hashed for a filter are the same: e-mail lower-cased, phones E.164,
postal codes upper-case without separators, cities without accents, case or punctuation.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from leads.domain.capture import validate_capture
from leads.domain.email_address import parse_email
from leads.domain.history import FieldChange, diff_fields
from leads.domain.lead import LEAD_FIELDS, PHONE_FIELDS, LeadData
from leads.domain.phones import PhoneInfo, PhoneParseError, parse_phone
from leads.domain.postal_codes import FORMATS
from leads.domain.timestamps import parse_aware_datetime
from suivi_common.clock import PARIS
from suivi_common.errors import Invalid

# Provenance of the record (capture facts): shown, never edited by anyone.
PROVENANCE_FIELDS = ("source_url", "consent_at", "capture_ip")
EDITABLE_FIELDS = tuple(f for f in LEAD_FIELDS if f not in PROVENANCE_FIELDS)
# Regions a national-format phone filter is read in (the countries whose formats we know).
SEARCH_REGIONS = tuple(sorted(FORMATS))
# The blind-index columns of office_leads and the index kind hashed into each.
BIDX_KINDS = {"email_bidx": "email", "mobile_bidx": "phone", "landline_bidx": "phone",
              "postal_bidx": "postal_code", "city_bidx": "city"}


# --- stored form <-> domain ----------------------------------------------------------------

def stored(lead: LeadData) -> dict[str, Any]:
    return lead.as_dict()


def _phone_from_stored(value: Any) -> PhoneInfo | None:
    e164 = value.get("e164") if isinstance(value, Mapping) else value
    if not e164:
        return None
    return parse_phone(str(e164), None)


def lead_from_stored(data: Mapping[str, Any]) -> LeadData:
    """Rebuild the domain record (refund checks run on it); phones are re-read from E.164."""
    values: dict[str, Any] = {name: data.get(name) for name in LEAD_FIELDS}
    for name in PHONE_FIELDS:
        values[name] = _phone_from_stored(values[name])
    if isinstance(values["consent_at"], str):
        values["consent_at"] = parse_aware_datetime(values["consent_at"])
    if isinstance(values["birth_date"], str):
        values["birth_date"] = date.fromisoformat(values["birth_date"])
    return LeadData(**values)


def raw_from_stored(data: Mapping[str, Any]) -> dict[str, Any]:
    """The stored record as capture input (phones as their E.164 text)."""
    raw = {name: data.get(name) for name in LEAD_FIELDS}
    for name in PHONE_FIELDS:
        phone = raw[name]
        raw[name] = phone.get("e164") if isinstance(phone, Mapping) else phone
    return raw


SOURCES = ("form", "direct")


def validate_new(raw: Any, now: datetime) -> dict[str, Any]:
    """A personal lead: the capture pipeline, field errors as Invalid. ``source: "direct"``
    (met in person: the user is its controller) needs no source URL nor consent time."""
    if not isinstance(raw, Mapping):
        raise Invalid("the lead is invalid", fields={"payload": "must be an object"})
    source = raw.get("source") or "form"
    if source not in SOURCES:
        raise Invalid("the lead is invalid", fields={"source": "form or direct"})
    fields = {k: v for k, v in raw.items() if k != "source"}
    return stored(validate_capture(fields, now, provenance=source == "form").or_raise())


def source_of(data: Mapping[str, Any]) -> str:
    """``direct`` for a lead entered without provenance (met in person), else ``form``."""
    return "form" if data.get("source_url") else "direct"


def apply_edit(current: Mapping[str, Any], changes: Any,
               now: datetime) -> tuple[dict[str, Any], list[FieldChange]]:
    """The edited record and its field changes (none for a no-op edit).

    Only editable fields may be given (provenance is evidence, not data); ``None`` or ""
    clears a field. The merged record is re-validated as a capture would be.
    """
    if not isinstance(changes, Mapping) or not changes:
        raise Invalid("nothing to change", fields={"payload": "give at least one field"})
    refused = {k: "cannot be changed" for k in changes if k in PROVENANCE_FIELDS}
    unknown = {k: "unknown field" for k in changes if k not in LEAD_FIELDS}
    if refused or unknown:
        raise Invalid("the change is invalid", fields={**unknown, **refused})
    merged = {**raw_from_stored(current), **dict(changes)}
    result = validate_capture(merged, now, provenance=source_of(current) == "form")
    if result.lead is None:
        errors = dict(result.errors)
        if "contact" in errors:
            errors["contact"] = "keep at least one of email, mobile or landline"
        raise Invalid("the lead is invalid", fields=errors)
    after = stored(result.lead)
    return after, diff_fields(_comparable(current), _comparable(after))


def _comparable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {name: data.get(name) for name in LEAD_FIELDS}


# --- search keys ---------------------------------------------------------------------------

def norm_email(value: str) -> str:
    try:
        return parse_email(value).normalized
    except ValueError:
        return value.strip().lower()


def phone_candidates(value: str) -> list[str]:
    """E.164 forms a typed number may stand for: international as written, else read as a
    national number of each region we sell in. Invalid on text that is no phone at all."""
    text = value.strip()
    regions: Iterable[str | None] = ((None,) if text.startswith("+")
                                     else ("FR",) if text.startswith("00")  # 00 = international
                                     else SEARCH_REGIONS)
    found: list[str] = []
    for region in regions:
        try:
            e164 = parse_phone(text, region).e164
        except PhoneParseError:
            continue
        if e164 not in found:
            found.append(e164)
    if not found:
        raise Invalid("not a phone number", fields={"phone": "not a phone number"})
    return found


def norm_postal_code(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value.upper())


def norm_city(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", bare).split())


def search_keys(data: Mapping[str, Any] | None) -> dict[str, str | None]:
    """Normalised value per blind-index column (None when the field is empty)."""
    data = data or {}

    def e164(name: str) -> str | None:
        phone = data.get(name)
        return (phone.get("e164") if isinstance(phone, Mapping) else phone) or None

    return {
        "email_bidx": norm_email(data["email"]) if data.get("email") else None,
        "mobile_bidx": e164("mobile"),
        "landline_bidx": e164("landline"),
        "postal_bidx": norm_postal_code(data["postal_code"]) if data.get("postal_code") else None,
        "city_bidx": norm_city(data["city"]) if data.get("city") else None,
    }


# --- views -----------------------------------------------------------------------------------

# Why an office lead is an empty record (``office_leads.erased_reason``), and what its
# tombstone says.
ERASED_ON_REQUEST = "data_subject_request"
ERASED_AT_RETENTION = "retention"
TOMBSTONES = {ERASED_ON_REQUEST: "erased on the person's request",
              ERASED_AT_RETENTION: "erased at the end of its retention period"}


def tombstone(reason: str | None, erased_at: datetime | None) -> dict[str, Any] | None:
    """What an erased lead still says: why, and when (None for a lead not erased)."""
    if erased_at is None:
        return None
    reason = reason or ERASED_ON_REQUEST  # erasures before the reason was kept
    return {"reason": reason, "text": TOMBSTONES.get(reason, TOMBSTONES[ERASED_ON_REQUEST]),
            "erased_on": erased_at.astimezone(PARIS).date().isoformat()}


SUMMARY_FIELDS = ("first_name", "last_name", "email", "mobile", "landline", "postal_code",
                  "city", "country")


def flat(data: Mapping[str, Any] | None, fields: Iterable[str] = LEAD_FIELDS) -> dict[str, Any]:
    """Personal fields for display: phones as E.164 text."""
    data = data or {}
    out = {}
    for name in fields:
        value = data.get(name)
        out[name] = value.get("e164") if isinstance(value, Mapping) and "e164" in value else value
    return out


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def summary(row: Any, data: Mapping[str, Any] | None) -> dict[str, Any]:
    """One lead in a listing."""
    return {"id": str(row.id), "origin": row.origin, "kind": row.kind, "status": row.status,
            "plan_id": row.plan_id, "created_at": iso(row.created_at),
            "delivered_at": iso(row.delivered_at), "erased": row.erased_at is not None,
            "tombstone": tombstone(row.erased_reason, row.erased_at),
            "restricted": row.restricted_at is not None, **flat(data, SUMMARY_FIELDS)}
