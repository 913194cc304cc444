"""Factories shared by the plans domain unit tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from plans.domain.day_close import DayReport, close_day
from plans.domain.plan import Plan
from plans.domain.pricing import DEFAULT_PRICE_TABLE

START = date(2026, 6, 1)  # a Monday; June 2026 has no French public holiday


@pytest.fixture
def start() -> date:
    return START


@pytest.fixture
def make_plan() -> Callable[..., Plan]:
    """Build a plan; activated on ``start`` unless ``start`` is None."""

    def _make(
        records: int = 300,
        tier: str = "standard",
        country: str = "FR",
        start: date | None = START,
        user_id: str = "u1",
        plan_id: str = "p1",
    ) -> Plan:
        plan = Plan.order(
            plan_id=plan_id,
            user_id=user_id,
            country=country,
            tier=tier,
            records=records,
            table=DEFAULT_PRICE_TABLE,
        )
        if start is not None:
            plan.activate(start)
        return plan

    return _make


@pytest.fixture
def take_full() -> Callable[[Plan, int], None]:
    """Close the plan's next ``days`` days with the whole quota taken each day."""

    def _run(plan: Plan, days: int) -> None:
        for _ in range(days):
            day = plan.next_day_to_close
            assert day is not None
            close_day(plan, DayReport(day, taken=plan.quota_for(day)), today=day + timedelta(days=1))

    return _run
