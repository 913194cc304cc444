"""Refund claims on purchased leads (terms, art. 3.B.ii).

Eligibility is checked in a fixed order so the user always gets the most
fundamental refusal first (an erased lead is refused as erased, even if it was
also edited):

1. erased on a data-subject request -> ``refund_claim_lead_erased`` (3.B.iv);
2. a personal lead, not bought from the platform -> ``refund_claim_personal_lead``;
3. edited by the user -> ``refund_claim_lead_edited`` (3.B.ii: "modifiée par
   lui-même"). Only edits of the lead's personal data by the user themself
   count: status moves and notes are normal use, and edits by the network admin,
   staff or the system are not the user's doing;
4. already claimed -> ``refund_claim_already_claimed``: one claim per lead,
   whatever the outcome of the first one, since the platform's decision is final;
5. more than ``window_days`` after delivery -> ``refund_claim_window_closed``
   (the deadline instant itself is still open).

The reason is validated separately (``parse_refund_reason``, Invalid on field
"reason") so the caller can report bad input before business refusals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from leads.domain.history import ChangeSource
from leads.domain.lead import LEAD_FIELDS
from leads.domain.timestamps import require_aware
from suivi_common.errors import Conflict, Invalid

REFUND_WINDOW_DAYS = 7


class RefundReason(StrEnum):
    PHONE_UNASSIGNED = "phone_unassigned"  # number(s) not assigned
    WRONG_COUNTRY = "wrong_country"  # does not live in the plan's country
    FAKE_RECORD = "fake_record"  # obviously filled in with no wish to be contacted


class LeadOrigin(StrEnum):
    PURCHASED = "purchased"
    PERSONAL = "personal"
    SITE = "site"  # a personal lead from the capture form of the owner's site (issue 13 §2)


@dataclass(frozen=True)
class ClaimFacts:
    """What the service knows about a lead when a refund is claimed."""

    origin: LeadOrigin
    delivered_at: datetime | None
    erased: bool = False
    edited_by_user: bool = False
    already_claimed: bool = False

    def __post_init__(self) -> None:
        if LeadOrigin(self.origin) is LeadOrigin.PURCHASED and self.delivered_at is None:
            raise ValueError("a purchased lead always has a delivery time")


def parse_refund_reason(raw: object) -> RefundReason:
    """The claim's reason, or Invalid on field "reason"."""
    try:
        return RefundReason(raw if isinstance(raw, str) else "")
    except ValueError:
        allowed = ", ".join(r.value for r in RefundReason)
        raise Invalid("unknown refund reason", fields={"reason": f"must be one of {allowed}"}) from None


def refund_deadline(delivered_at: datetime, window_days: int = REFUND_WINDOW_DAYS) -> datetime:
    """Last instant a claim is accepted."""
    return require_aware(delivered_at, "delivered_at") + timedelta(days=window_days)


def check_claim_allowed(facts: ClaimFacts, now: datetime, window_days: int = REFUND_WINDOW_DAYS) -> None:
    """Raise Conflict with a rule-naming code when the claim is not allowed."""
    require_aware(now, "now")
    if facts.erased:
        raise Conflict(
            "the lead was erased at the data subject's request and cannot be refunded",
            code="refund_claim_lead_erased",
        )
    if LeadOrigin(facts.origin) is not LeadOrigin.PURCHASED:  # personal, or from one's site
        raise Conflict(
            "only leads bought from the platform can be refunded", code="refund_claim_personal_lead"
        )
    if facts.edited_by_user:
        raise Conflict("a lead you have edited cannot be refunded", code="refund_claim_lead_edited")
    if facts.already_claimed:
        raise Conflict("a refund was already claimed for this lead", code="refund_claim_already_claimed")
    # delivered_at is guaranteed for purchased leads (ClaimFacts.__post_init__).
    if facts.delivered_at is not None and now > refund_deadline(facts.delivered_at, window_days):
        raise Conflict(
            f"refunds must be claimed within {window_days} days of delivery",
            code="refund_claim_window_closed",
        )


def edited_by_user(changes: Iterable[tuple[ChangeSource | str, str]]) -> bool:
    """Does an edit history of (source, field) pairs bar a refund?

    True when the user changed one of the lead's personal-data fields.
    """
    return any(
        ChangeSource(source) is ChangeSource.USER and field in LEAD_FIELDS for source, field in changes
    )
