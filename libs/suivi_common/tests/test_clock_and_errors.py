"""The platform clock, and typed errors surviving nameko's serialisation."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.exceptions import deserialize, serialize

from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited, SuiviError


@pytest.fixture(autouse=True)
def reset_clock():  # type: ignore[no-untyped-def]
    yield
    clock.reset()


def test_today_is_the_paris_calendar_day() -> None:
    clock.freeze(datetime(2026, 3, 1, 23, 30, tzinfo=UTC))  # 00:30 in Paris
    assert clock.today() == date(2026, 3, 2)
    clock.freeze(datetime(2026, 7, 1, 21, 59, tzinfo=UTC))  # 23:59 summer time
    assert clock.today() == date(2026, 7, 1)


def test_set_now_keeps_running_and_advance_moves_days() -> None:
    """Bracketed by real time, not compared with a tolerance: a descheduled test process
    (a busy machine) only widens the bracket."""
    target = datetime(2030, 1, 1, 12, tzinfo=UTC)
    before = datetime.now(UTC)
    clock.set_now(target)
    read = clock.now()
    assert target <= read <= target + (datetime.now(UTC) - before)
    clock.advance(timedelta(days=3))
    assert clock.today() == date(2030, 1, 4)
    clock.reset()
    before = datetime.now(UTC)
    read = clock.now()
    assert before <= read <= datetime.now(UTC)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        clock.set_now(datetime(2030, 1, 1))


def test_paris_midnight() -> None:
    assert clock.paris_midnight(date(2026, 1, 15)) == datetime(2026, 1, 14, 23, tzinfo=UTC)


@pytest.mark.parametrize("exc, status", [
    (NotFound(), 404), (Forbidden("no", code="terms_not_accepted"), 403),
    (Conflict("twice", code="tier_change_daily_limit"), 409),
    (Invalid("bad", fields={"records": ["too many"]}), 400),
    (RateLimited("slow down", retry_after=42), 429),
])
def test_errors_cross_rpc_with_code_fields_and_retry_after(exc: SuiviError, status: int) -> None:
    back = deserialize(serialize(exc))
    assert type(back) is type(exc)
    assert (back.code, back.message, back.fields, back.retry_after, back.status) == \
        (exc.code, exc.message, exc.fields, exc.retry_after, status)
    assert back.to_body()["error"]["code"] == exc.code
