"""Planned absences ("prolonger un PLAN", terms art. 3.B.iii, case 1).

A user announces days without taking leads; every active plan of theirs stops
delivering on those days and ends that much later. Conditions:

* asked no later than the business day before the first absent day (for a
  Monday: the Friday before; French public holidays are not business days);
* at most one per calendar quarter, counted on the quarter of the absence's
  first day (what the user plans around; an absence straddling two quarters
  counts once, in the first);
* starts after today, ends on or after its start, lasts at most the
  configured number of days;
* the user has at least one active plan (otherwise it would only burn the
  quarter's allowance).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from plans.domain.paris_calendar import date_span, previous_business_day, quarter_of
from plans.domain.periods import check_dates_order
from plans.domain.plan import Plan, PlanStatus
from plans.domain.rules import DEFAULT_RULES, PlanRules
from plans.domain.serialization import date_to_plain, required_date
from suivi_common.errors import Conflict, Invalid


@dataclass(frozen=True)
class PlannedAbsence:
    id: str
    user_id: str
    start_date: date
    end_date: date
    requested_on: date

    @property
    def days(self) -> list[date]:
        return date_span(self.start_date, self.end_date)

    @property
    def quarter(self) -> tuple[int, int]:
        """The quarter the absence counts against (that of its first day)."""
        return quarter_of(self.start_date)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "start_date": date_to_plain(self.start_date),
            "end_date": date_to_plain(self.end_date),
            "requested_on": date_to_plain(self.requested_on),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PlannedAbsence:
        return cls(
            id=str(raw["id"]),
            user_id=str(raw["user_id"]),
            start_date=required_date(raw["start_date"]),
            end_date=required_date(raw["end_date"]),
            requested_on=required_date(raw["requested_on"]),
        )


def latest_request_day(first_absent_day: date) -> date:
    """Last day an absence starting on ``first_absent_day`` may be requested."""
    return previous_business_day(first_absent_day)


def request_planned_absence(
    *,
    absence_id: str,
    user_id: str,
    start_date: date,
    end_date: date,
    today: date,
    previous_absences: Iterable[PlannedAbsence],
    plans: Iterable[Plan],
    rules: PlanRules = DEFAULT_RULES,
) -> PlannedAbsence:
    """Validate a planned absence and block its days on the user's active plans.

    ``previous_absences`` are the user's accepted planned absences;
    ``plans`` the user's plans (other users' plans are ignored).
    """
    check_dates_order(start_date, end_date, code="absence_dates_order")
    length = (end_date - start_date).days + 1
    if length > rules.absence_max_days:
        raise Invalid(
            f"A planned absence lasts at most {rules.absence_max_days} days ({length} asked)",
            fields={"end_date": f"must be at most {rules.absence_max_days} days from start_date, inclusive"},
            code="absence_too_long",
        )
    if start_date <= today:
        raise Invalid(
            "A planned absence must start after today",
            fields={"start_date": "must be after today"},
            code="absence_start_not_in_future",
        )
    deadline = latest_request_day(start_date)
    if today > deadline:
        raise Conflict(
            f"An absence starting {start_date.isoformat()} had to be requested "
            f"by {deadline.isoformat()} (one business day before)",
            code="absence_notice_too_late",
        )
    absence = PlannedAbsence(absence_id, user_id, start_date, end_date, requested_on=today)
    if any(p.user_id == user_id and p.quarter == absence.quarter for p in previous_absences):
        year, quarter = absence.quarter
        raise Conflict(
            f"One planned absence per quarter: Q{quarter} {year} already has one",
            code="absence_quarterly_limit",
        )
    active = [plan for plan in plans if plan.user_id == user_id and plan.status == PlanStatus.ACTIVE]
    if not active:
        raise Conflict("A planned absence needs an active plan", code="absence_no_active_plan")
    apply_planned_absence(absence, active)
    return absence


def apply_planned_absence(absence: PlannedAbsence, plans: Iterable[Plan]) -> list[str]:
    """Block the absence's days on the owner's active plans; returns their ids.

    Also for a plan activated after the absence was accepted, so it honours it too.
    """
    touched: list[str] = []
    for plan in plans:
        if plan.user_id == absence.user_id and plan.status == PlanStatus.ACTIVE:
            plan.block_dates(absence.days)
            touched.append(plan.id)
    return touched
