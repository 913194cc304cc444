"""Duplicate detection: the window rule and the keys fed to the blind indexes.

The same person must not be sold twice within the window. Keys are normalised
here, once, so the value hashed into the blind index is identical whatever path
(form, feed, manual entry) produced the lead.
"""

from __future__ import annotations

from datetime import datetime

from leads.domain.lead import LeadData
from leads.domain.timestamps import days_before, require_aware

DEFAULT_WINDOW_DAYS = 90


def duplicate_cutoff(now: datetime, window_days: int = DEFAULT_WINDOW_DAYS) -> datetime:
    """Leads last seen strictly after this instant are duplicates (for SQL filters)."""
    return days_before(now, window_days, "window_days")


def is_duplicate(
    last_seen_at: datetime | None, now: datetime, window_days: int = DEFAULT_WINDOW_DAYS
) -> bool:
    """True when the same person was seen less than `window_days` ago.

    Exactly `window_days` ago is no longer a duplicate. A `last_seen_at` in the
    future (clock skew between hosts) counts as a duplicate: better to refuse a
    resale than to sell the same person twice.
    """
    cutoff = duplicate_cutoff(now, window_days)
    if last_seen_at is None:
        return False
    return require_aware(last_seen_at, "last_seen_at") > cutoff


def dedup_keys(lead: LeadData) -> list[tuple[str, str]]:
    """(kind, normalised value) pairs: the lower-cased email and each phone in E.164.

    Mobile and landline share the kind "phone" so a number typed in the other
    box still matches. Invalid-but-parsed numbers are included: a bot sending the
    same junk twice is a duplicate too. No Gmail-style dot/plus folding: that
    would merge distinct real mailboxes on other providers.
    """
    keys: list[tuple[str, str]] = []
    if lead.email:
        keys.append(("email", lead.email.strip().lower()))
    for phone in lead.phones().values():
        key = ("phone", phone.e164)
        if key not in keys:
            keys.append(key)
    return keys
