"""Withdrawal right: seven clear days, extended past weekends and holidays."""
from datetime import date

from accounts.domain.withdrawal import Refusal, last_day, refusal


def test_seven_clear_days_from_validation() -> None:
    monday = date(2026, 3, 2)
    assert last_day(monday) == date(2026, 3, 9)


def test_edge_last_day_allowed_next_day_refused() -> None:
    validated = date(2026, 3, 2)
    assert refusal(validated, date(2026, 3, 9), service_started=False) is None
    assert refusal(validated, date(2026, 3, 10), service_started=False) is Refusal.WINDOW_CLOSED


def test_window_ending_on_a_weekend_runs_to_monday() -> None:
    saturday = date(2026, 3, 7)
    assert last_day(saturday) == date(2026, 3, 16)  # 14 March is a Saturday


def test_window_ending_on_a_holiday_runs_to_the_next_working_day() -> None:
    # 1 May 2026 is a Friday and a public holiday: the window runs to Monday 4 May.
    assert last_day(date(2026, 4, 24)) == date(2026, 5, 4)


def test_service_started_refuses_even_inside_the_window() -> None:
    assert refusal(date(2026, 3, 2), date(2026, 3, 3), service_started=True) is Refusal.SERVICE_STARTED


def test_window_closed_is_reported_first() -> None:
    assert refusal(date(2026, 3, 2), date(2026, 3, 20), service_started=True) is Refusal.WINDOW_CLOSED
