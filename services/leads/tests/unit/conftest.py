"""Shared fixtures for the pure-domain unit tests (no I/O anywhere)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from leads.domain.lead import LeadData

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def raw_lead() -> dict[str, Any]:
    """A complete, valid French capture payload; tests override one field at a time."""
    return {
        "first_name": "Jean",
        "last_name": "Martin",
        "email": "jean.martin@example.fr",
        "mobile": "06 12 34 56 78",
        "landline": "01 23 45 67 89",
        "call_window": "18h-20h",
        "postal_code": "75001",
        "city": "Paris",
        "country": "FR",
        "professional_situation": "salarié",
        "time_available": "10h/semaine",
        "birth_date": "1980-05-17",
        "income_goal": "1000 €/mois",
        "source_url": "https://devenir-distributeur.example.fr/form?src=ads",
        "consent_at": "2025-06-01T11:58:00+00:00",
        "capture_ip": "203.0.113.7",
    }


@pytest.fixture
def lead(raw_lead: dict[str, Any], now: datetime) -> LeadData:
    """The fixture payload, captured: a valid premium_plus French lead."""
    from leads.domain.capture import validate_capture

    return validate_capture(raw_lead, now).or_raise()
