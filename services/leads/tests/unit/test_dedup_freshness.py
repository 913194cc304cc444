"""Duplicate window, blind-index keys, freshness."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from leads.domain.dedup import dedup_keys, duplicate_cutoff, is_duplicate
from leads.domain.freshness import freshness_cutoff, is_fresh
from leads.domain.lead import LeadData
from leads.domain.phones import LineType, PhoneInfo

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last_seen", "window", "expected"),
    [
        (None, 90, False),
        (NOW, 90, True),
        (NOW - timedelta(days=1), 90, True),
        (NOW - timedelta(days=90) + timedelta(seconds=1), 90, True),
        (NOW - timedelta(days=90), 90, False),  # the window has fully elapsed
        (NOW - timedelta(days=91), 90, False),
        (NOW - timedelta(days=400), 90, False),
        (NOW + timedelta(minutes=3), 90, True),  # clock skew: refuse rather than resell
        (NOW - timedelta(days=10), 7, False),
        (NOW - timedelta(days=6), 7, True),
    ],
)
def test_is_duplicate(last_seen: Any, window: int, expected: bool) -> None:
    assert is_duplicate(last_seen, NOW, window_days=window) is expected


def test_default_window_is_90_days() -> None:
    assert is_duplicate(NOW - timedelta(days=89), NOW) is True
    assert is_duplicate(NOW - timedelta(days=90), NOW) is False
    assert duplicate_cutoff(NOW) == NOW - timedelta(days=90)


def test_duplicate_compares_instants_across_offsets() -> None:
    paris = timezone(timedelta(hours=2))
    last_seen = datetime(2025, 3, 3, 14, 0, 1, tzinfo=paris)  # 12:00:01 UTC, 90 days minus 1s
    assert is_duplicate(last_seen, NOW) is True


@pytest.mark.parametrize("bad", [0, -1])
def test_window_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError):
        is_duplicate(None, NOW, window_days=bad)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        is_duplicate(datetime(2025, 5, 1), NOW)
    with pytest.raises(ValueError):
        is_duplicate(None, datetime(2025, 5, 1))
    with pytest.raises(ValueError):
        is_fresh(datetime(2025, 5, 1), NOW)


def test_dedup_keys(lead: LeadData) -> None:
    assert dedup_keys(lead) == [
        ("email", "jean.martin@example.fr"),
        ("phone", "+33612345678"),
        ("phone", "+33123456789"),
    ]


def test_dedup_keys_share_the_phone_kind_across_boxes(lead: LeadData) -> None:
    swapped = replace(lead, mobile=lead.landline, landline=lead.mobile)
    assert set(dedup_keys(swapped)) == set(dedup_keys(lead))


def test_same_number_in_both_boxes_gives_one_key(lead: LeadData) -> None:
    assert dedup_keys(replace(lead, landline=lead.mobile)) == [
        ("email", "jean.martin@example.fr"),
        ("phone", "+33612345678"),
    ]


def test_dedup_keys_include_invalid_numbers_and_skip_absent_values(lead: LeadData) -> None:
    junk = PhoneInfo("+330612", False, LineType.UNKNOWN, None, 33)
    assert dedup_keys(replace(lead, email=None, mobile=junk, landline=None)) == [("phone", "+330612")]


def test_dedup_keys_lower_case_the_email(lead: LeadData) -> None:
    assert dedup_keys(replace(lead, email=" Jean@Example.FR"))[0] == ("email", "jean@example.fr")


def test_differently_typed_inputs_give_the_same_keys(raw_lead: dict[str, Any], now: datetime) -> None:
    from leads.domain.capture import validate_capture

    other = {
        **raw_lead,
        "email": "JEAN.MARTIN@EXAMPLE.FR ",
        "mobile": "+33 (0)6 12 34 56 78",
        "landline": "0033 1 23 45 67 89",
    }
    first = validate_capture(raw_lead, now).lead
    second = validate_capture(other, now).lead
    assert dedup_keys(first) == dedup_keys(second)


@pytest.mark.parametrize(
    ("captured", "max_age", "expected"),
    [
        (NOW, 30, True),
        (NOW - timedelta(days=29, hours=23), 30, True),
        (NOW - timedelta(days=30), 30, True),  # the boundary is still fresh
        (NOW - timedelta(days=30, seconds=1), 30, False),
        (NOW - timedelta(days=365), 30, False),
        (NOW + timedelta(minutes=1), 30, True),
        (NOW - timedelta(days=2), 1, False),
        (NOW - timedelta(hours=23), 1, True),
    ],
)
def test_is_fresh(captured: Any, max_age: int, expected: bool) -> None:
    assert is_fresh(captured, NOW, max_age_days=max_age) is expected


def test_freshness_cutoff_matches_is_fresh() -> None:
    cutoff = freshness_cutoff(NOW, 30)
    assert cutoff == datetime(2025, 5, 2, 12, 0, tzinfo=UTC)
    assert is_fresh(cutoff, NOW, 30) is True
    assert is_fresh(cutoff - timedelta(microseconds=1), NOW, 30) is False
    assert is_fresh(NOW - timedelta(days=29), NOW) is True  # default 30 days


@pytest.mark.parametrize("bad", [0, -5])
def test_max_age_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError):
        freshness_cutoff(NOW, bad)
