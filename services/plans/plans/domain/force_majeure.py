"""Force-majeure absences (terms art. 3.B.iii, case 2).

Declared for one plan, possibly after the fact, until the configured number of
days after the plan's end (day 30 after the end still counts). Staff decide case
by case: approval blocks the absent days on the plan and gives back what was
forfeited on them; rejection changes nothing. Not counted against the planned
absences' quarterly allowance. The event must have begun (start <= today):
an absence known in advance is a planned absence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from plans.domain.paris_calendar import date_span
from plans.domain.periods import check_dates_order
from plans.domain.plan import ExcusedAbsence, Plan, PlanStatus
from plans.domain.rules import DEFAULT_RULES, PlanRules
from plans.domain.serialization import date_from_plain, date_to_plain, required_date
from suivi_common.errors import Conflict, Invalid


class ForceMajeureReason(StrEnum):
    HOSPITALISATION = "hospitalisation"
    BEREAVEMENT = "bereavement"
    RELATIVE_IN_DISTRESS = "relative_in_distress"
    SEPARATION = "separation"
    OTHER = "other"


class ClaimStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass
class ForceMajeureClaim:
    id: str
    user_id: str
    plan_id: str
    start_date: date
    end_date: date
    reason: ForceMajeureReason
    details: str
    declared_on: date
    status: ClaimStatus = ClaimStatus.PENDING
    decided_on: date | None = None
    staff_comment: str | None = None
    records_restored: int = 0

    @property
    def days(self) -> list[date]:
        return date_span(self.start_date, self.end_date)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "plan_id": self.plan_id,
            "start_date": date_to_plain(self.start_date),
            "end_date": date_to_plain(self.end_date),
            "reason": self.reason.value,
            "details": self.details,
            "declared_on": date_to_plain(self.declared_on),
            "status": self.status.value,
            "decided_on": date_to_plain(self.decided_on),
            "staff_comment": self.staff_comment,
            "records_restored": self.records_restored,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ForceMajeureClaim:
        return cls(
            id=str(raw["id"]),
            user_id=str(raw["user_id"]),
            plan_id=str(raw["plan_id"]),
            start_date=required_date(raw["start_date"]),
            end_date=required_date(raw["end_date"]),
            reason=ForceMajeureReason(raw["reason"]),
            details=str(raw.get("details") or ""),
            declared_on=required_date(raw["declared_on"]),
            status=ClaimStatus(raw.get("status", ClaimStatus.PENDING)),
            decided_on=date_from_plain(raw.get("decided_on")),
            staff_comment=raw.get("staff_comment"),
            records_restored=int(raw.get("records_restored", 0)),
        )


def parse_reason(value: object) -> ForceMajeureReason:
    if isinstance(value, str):
        try:
            return ForceMajeureReason(value)
        except ValueError:
            pass
    raise Invalid(
        "Unknown force-majeure reason",
        fields={"reason": "must be one of: " + ", ".join(reason.value for reason in ForceMajeureReason)},
        code="force_majeure_reason_unknown",
    )


def latest_declaration_day(plan: Plan, rules: PlanRules = DEFAULT_RULES) -> date | None:
    """Last day a force majeure may be declared for ``plan`` (its current end + window)."""
    end = plan.end_date
    return None if end is None else end + timedelta(days=rules.force_majeure_window_days)


def declare_force_majeure(
    *,
    claim_id: str,
    plan: Plan,
    start_date: date,
    end_date: date,
    reason: ForceMajeureReason | str,
    details: str,
    today: date,
    rules: PlanRules = DEFAULT_RULES,
) -> ForceMajeureClaim:
    """A pending claim; the plan is untouched until staff approve it."""
    parsed_reason = parse_reason(reason)
    details = details.strip()
    if parsed_reason == ForceMajeureReason.OTHER and not details:
        raise Invalid(
            "Describe the event when the reason is 'other'",
            fields={"details": "is required when reason is other"},
            code="force_majeure_details_required",
        )
    # No length limit of its own: staff judge each case.
    check_dates_order(start_date, end_date, code="force_majeure_dates_order")
    if start_date > today:
        raise Invalid(
            "A force-majeure absence must have begun; plan future absences instead",
            fields={"start_date": "must be today or earlier"},
            code="force_majeure_not_started",
        )
    if plan.status not in (PlanStatus.ACTIVE, PlanStatus.COMPLETED):
        raise Conflict(
            f"A {plan.status} plan has no delivery to excuse", code="force_majeure_plan_not_eligible"
        )
    deadline = latest_declaration_day(plan, rules)
    if deadline is None or today > deadline:
        raise Conflict(
            f"Force majeure had to be declared within {rules.force_majeure_window_days} days "
            "after the plan's end",
            code="force_majeure_deadline_passed",
        )
    return ForceMajeureClaim(
        id=claim_id,
        user_id=plan.user_id,
        plan_id=plan.id,
        start_date=start_date,
        end_date=end_date,
        reason=parsed_reason,
        details=details,
        declared_on=today,
    )


def _require_pending(claim: ForceMajeureClaim) -> None:
    if claim.status != ClaimStatus.PENDING:
        raise Conflict(f"The claim is already {claim.status}", code="force_majeure_already_decided")


def approve_force_majeure(
    claim: ForceMajeureClaim, plan: Plan, today: date, comment: str | None = None
) -> ExcusedAbsence:
    """Staff approval: the plan's end moves back and forfeited records return."""
    if claim.plan_id != plan.id:
        raise ValueError("claim and plan do not match")
    _require_pending(claim)
    outcome = plan.apply_excused_absence(claim.days, today)
    claim.status = ClaimStatus.APPROVED
    claim.decided_on = today
    claim.staff_comment = (comment or "").strip() or None
    claim.records_restored = outcome.records_restored
    return outcome


def reject_force_majeure(claim: ForceMajeureClaim, today: date, comment: str) -> None:
    """Staff rejection; the user is owed an explanation, so a comment is required."""
    _require_pending(claim)
    if not comment.strip():
        raise Invalid(
            "A rejection needs a comment for the user",
            fields={"comment": "is required"},
            code="force_majeure_comment_required",
        )
    claim.status = ClaimStatus.REJECTED
    claim.decided_on = today
    claim.staff_comment = comment.strip()
