"""The normalised lead record produced by capture (the terms' personal-data list)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from leads.domain.phones import PhoneInfo
from suivi_common.errors import Invalid

# Every personal-data field the terms (annex, art. II) allow us to process for a lead.
LEAD_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "landline",
    "mobile",
    "call_window",
    "postal_code",
    "city",
    "country",
    "professional_situation",
    "time_available",
    "birth_date",
    "income_goal",
    "source_url",
    "consent_at",
    "capture_ip",
)
PHONE_FIELDS: tuple[str, ...] = ("mobile", "landline")
CONTACT_FIELDS: tuple[str, ...] = ("email", "mobile", "landline")


@dataclass(frozen=True)
class LeadData:
    """A lead that passed capture validation; every value is already normalised."""

    first_name: str
    last_name: str
    country: str
    source_url: str | None  # None only for a lead met in person (``source: "direct"``)
    consent_at: datetime | None
    email: str | None = None
    mobile: PhoneInfo | None = None
    landline: PhoneInfo | None = None
    call_window: str | None = None
    postal_code: str | None = None
    city: str | None = None
    professional_situation: str | None = None
    time_available: str | None = None
    birth_date: date | None = None
    income_goal: str | None = None
    capture_ip: str | None = None

    def phones(self) -> dict[str, PhoneInfo]:
        """The phones that are present, keyed by field name (mobile first)."""
        found = {name: getattr(self, name) for name in PHONE_FIELDS}
        return {name: info for name, info in found.items() if info is not None}

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly view (ISO dates, phones as dicts) for storage and messages."""
        out: dict[str, object] = {}
        for name in LEAD_FIELDS:
            value = getattr(self, name)
            if isinstance(value, PhoneInfo):
                value = value.as_dict()
            elif isinstance(value, (date, datetime)):
                value = value.isoformat()
            out[name] = value
        return out


@dataclass(frozen=True)
class CaptureResult:
    """Either a normalised lead or the per-field errors that prevented it."""

    lead: LeadData | None
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.lead is not None

    def or_raise(self) -> LeadData:
        """The lead, or Invalid carrying the field errors (for the HTTP path)."""
        if self.lead is None:
            raise Invalid("the lead is invalid", fields=dict(self.errors))
        return self.lead
