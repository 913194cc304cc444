"""Closing a delivery day: what was due, what was taken, what is forfeited.

Terms art. 3.B.iii: leads not taken on their day are lost ("toute fiche non
prise ne pourra pas donner lieu à un remboursement"). Art. 8.B: leads the
platform could not supply are not the user's fault, so a shortfall stays owed
and the plan is lengthened instead.

Days are closed one at a time, in order, each exactly once: closing a day
already closed is a no-op (a retried job must not forfeit twice), and closing a
day while an earlier one is still open is refused (its quota would be computed
on a wrong balance). ``close_days`` catches up on several missed days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from plans.domain.paris_calendar import ONE_DAY
from plans.domain.plan import Plan, PlanStatus
from suivi_common.errors import Conflict, Invalid


@dataclass(frozen=True)
class DayReport:
    """What the leads service reports for one plan and one day."""

    day: date
    taken: int = 0
    shortfall: int = 0
    """Leads the platform could not supply that day (stock), not the user's fault."""


@dataclass(frozen=True)
class DayCloseResult:
    day: date
    quota_due: int
    taken: int
    shortfall: int
    """Shortfall that counted: capped at what was due and not taken."""
    forfeited: int
    remaining_after: int
    delivery_days_added: int
    completed: bool
    skipped: bool
    """True when nothing was done (day already closed, or plan not active)."""


def close_day(plan: Plan, report: DayReport, today: date) -> DayCloseResult:
    """Apply one day's close to ``plan``.

    quota_due is the plan's quota for the day (0 when blocked); forfeited =
    max(0, quota_due - taken - shortfall); remaining drops by taken + forfeited.
    After a shortfall the plan gets the fewest extra delivery days that keep the
    next quota at or below the quota that was due, so the platform's lack of
    stock never raises what the user must take.
    """
    next_day = plan.next_day_to_close
    if plan.status != PlanStatus.ACTIVE or next_day is None or report.day < next_day:
        return _skipped(plan, report)
    if report.day >= today:
        raise Conflict(f"{report.day.isoformat()} is not over yet", code="day_close_not_over")
    if report.day > next_day:
        raise Conflict(
            f"{next_day.isoformat()} must be closed before {report.day.isoformat()}",
            code="day_close_out_of_order",
        )
    _check_report(plan, report)

    quota_due = plan.quota_for(report.day)
    shortfall = min(report.shortfall, max(0, quota_due - report.taken))
    forfeited = max(0, quota_due - report.taken - shortfall)
    plan.remaining -= report.taken + forfeited
    if forfeited:
        plan.forfeits[report.day] = plan.forfeits.get(report.day, 0) + forfeited
    plan.last_closed_date = report.day

    added = 0
    if plan.remaining == 0:
        plan.status = PlanStatus.COMPLETED
    elif shortfall:
        days_left = plan.remaining_delivery_days(report.day + ONE_DAY)
        days_needed = -(-plan.remaining // quota_due)
        added = max(0, days_needed - days_left)
        plan.delivery_days_total += added
    return DayCloseResult(
        day=report.day,
        quota_due=quota_due,
        taken=report.taken,
        shortfall=shortfall,
        forfeited=forfeited,
        remaining_after=plan.remaining,
        delivery_days_added=added,
        completed=plan.status == PlanStatus.COMPLETED,
        skipped=False,
    )


def close_days(plan: Plan, reports: Iterable[DayReport], today: date) -> list[DayCloseResult]:
    """Catch up: close every reported day in date order; already closed days are no-ops.

    The days still open must follow each other from ``next_day_to_close``; a gap
    is refused before anything changes, so a partial catch-up never half-applies.
    """
    ordered = sorted(reports, key=lambda report: report.day)
    for report in ordered:
        _check_counts(report)
    expected = plan.next_day_to_close
    if plan.status == PlanStatus.ACTIVE and expected is not None:
        for day in sorted({report.day for report in ordered if report.day >= expected}):
            if day != expected:
                raise Conflict(
                    f"{expected.isoformat()} must be closed before {day.isoformat()}",
                    code="day_close_out_of_order",
                )
            if day >= today:
                raise Conflict(f"{day.isoformat()} is not over yet", code="day_close_not_over")
            expected = day + ONE_DAY
    return [close_day(plan, report, today) for report in ordered]


def _check_report(plan: Plan, report: DayReport) -> None:
    _check_counts(report)
    if report.taken > plan.remaining:
        raise Invalid(
            "More leads taken than the plan has remaining",
            fields={"taken": f"must not exceed {plan.remaining}"},
            code="day_report_taken_exceeds_remaining",
        )


def _check_counts(report: DayReport) -> None:
    problems: dict[str, str] = {}
    for name in ("taken", "shortfall"):
        value = getattr(report, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems[name] = "must be a non-negative integer"
    if problems:
        raise Invalid("Day report has invalid counts", fields=problems, code="day_report_invalid")


def _skipped(plan: Plan, report: DayReport) -> DayCloseResult:
    return DayCloseResult(
        day=report.day,
        quota_due=0,
        taken=0,
        shortfall=0,
        forfeited=0,
        remaining_after=plan.remaining,
        delivery_days_added=0,
        completed=plan.status == PlanStatus.COMPLETED,
        skipped=True,
    )
