"""Schemas of the plans area: quotes, plans, extensions, absences, sales closures, day
close and the demand forecast.

Inputs are checked for shape here; the plan rules themselves (tiers, record bounds,
open countries, dates) are the plans service's, which answers with typed errors.
"""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import page_of

TIERS = ["standard", "premium", "premium_plus"]
COUNTRY = validate.Regexp(r"^[A-Za-z]{2}$", error="Expected an ISO 3166 alpha-2 code")
METHOD = validate.Length(min=1, max=30)


def _records() -> fields.Int:
    return fields.Int(required=True, strict=True,
                      metadata={"description": "Number of leads (bounds set by the plans service)"})


def _tier(required: bool = True) -> fields.Str:
    return fields.Str(required=required, validate=validate.Length(min=1, max=40),
                      metadata={"description": "Lead grade", "enum": TIERS})


class QuoteIn(Schema):
    records = _records()
    tier = _tier()
    country = fields.Str(required=True, validate=COUNTRY)


class QuoteOut(Schema):
    unit_price_cents = fields.Int()
    total_cents = fields.Int()
    daily_quota = fields.Int()
    days = fields.Int()
    records = fields.Int()
    tier = fields.Str()
    country = fields.Str()


class PlanCreateIn(QuoteIn):
    payment_method = fields.Str(required=True, validate=METHOD,
                                metadata={"description": "card, transfer or cheque"})


class PlanPaymentOut(Schema):
    id = fields.Str()
    method = fields.Str()
    status = fields.Str()
    amount_cents = fields.Int()
    redirect_url = fields.Str(allow_none=True)


class TodayOut(Schema):
    date = fields.Str()
    quota = fields.Int()
    taken = fields.Int()
    shortfall = fields.Int()
    live = fields.Bool(metadata={"description": "False when leads could not be asked: taken "
                                                "and shortfall are then 0"})


class TierChangeOut(Schema):
    from_tier = fields.Str()
    to_tier = fields.Str()
    records_before = fields.Int()
    records_after = fields.Int()
    unit_price_before_cents = fields.Int()
    unit_price_after_cents = fields.Int()
    residue_cents = fields.Int()


class ExtensionOut(Schema):
    id = fields.Str()
    plan_id = fields.Str()
    status = fields.Str(metadata={"enum": ["pending_payment", "paid", "applied", "cancelled"]})
    tier = fields.Str()
    records = fields.Int()
    unit_price_cents = fields.Int()
    gross_cents = fields.Int()
    credit_applied_cents = fields.Int()
    total_cents = fields.Int()
    payment_id = fields.Str(allow_none=True)
    created_at = fields.Str()
    applied_at = fields.Str(allow_none=True)
    payment = fields.Nested(PlanPaymentOut, allow_none=True)


class PlanOut(Schema):
    id = fields.Str()
    status = fields.Str(metadata={"enum": ["pending_payment", "active", "completed", "cancelled"]})
    tier = fields.Str()
    country = fields.Str()
    records_total = fields.Int(metadata={"description": "Records paid for (order + extensions)"})
    records_remaining = fields.Int(metadata={"description": "Owed at the start of today; today's "
                                                           "takes are deducted at the day close"})
    daily_quota = fields.Int()
    start_date = fields.Str(allow_none=True)
    end_date = fields.Str(allow_none=True)
    credit_cents = fields.Int()
    unit_price_cents = fields.Int()
    total_cents = fields.Int()
    payment_id = fields.Str(allow_none=True)
    created_at = fields.Str()
    activated_on = fields.Str(allow_none=True)
    last_closed_date = fields.Str(allow_none=True)
    blocked_dates = fields.List(fields.Str())
    tier_changed_on = fields.Str(allow_none=True)
    today = fields.Nested(TodayOut)
    extensions = fields.List(fields.Nested(ExtensionOut))
    tier_change = fields.Nested(TierChangeOut)


class PlanCreatedOut(PlanOut):
    payment = fields.Nested(PlanPaymentOut)


class PlansQuery(Schema):
    status = fields.Str(validate=validate.OneOf(["pending_payment", "active", "completed",
                                                 "cancelled"]))
    cursor = fields.Str(validate=validate.Length(max=200))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))


class TierIn(Schema):
    tier = _tier()


class ExtendQuoteIn(Schema):
    records = _records()


class ExtendIn(ExtendQuoteIn):
    payment_method = fields.Str(required=True, validate=METHOD,
                                metadata={"description": "card, transfer or cheque (unused when "
                                                         "the plan's credit pays it all)"})


class ExtensionQuoteOut(Schema):
    plan_id = fields.Str()
    tier = fields.Str()
    records = fields.Int()
    unit_price_cents = fields.Int()
    gross_cents = fields.Int()
    credit_applied_cents = fields.Int()
    total_cents = fields.Int()


class AbsenceIn(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    force_majeure = fields.Bool(load_default=False)
    reason = fields.Str(validate=validate.Length(max=40), metadata={"enum": [
        "hospitalisation", "bereavement", "relative_in_distress", "separation", "other"]})
    details = fields.Str(validate=validate.Length(max=2000))
    plan_id = fields.Str(validate=validate.Length(max=64),
                         metadata={"description": "Required for a force-majeure absence"})


class ProofOut(Schema):
    mime = fields.Str()
    size = fields.Int()
    uploaded_at = fields.Str()


class AbsenceOut(Schema):
    id = fields.Str()
    kind = fields.Str(metadata={"enum": ["planned", "force_majeure"]})
    status = fields.Str(metadata={"enum": ["pending", "approved", "rejected"]})
    user_id = fields.Str()
    plan_id = fields.Str(allow_none=True)
    plan_ids = fields.List(fields.Str())
    start_date = fields.Str()
    end_date = fields.Str()
    requested_on = fields.Str()
    reason = fields.Str(allow_none=True)
    details = fields.Str(allow_none=True)
    decided_on = fields.Str(allow_none=True)
    staff_comment = fields.Str(allow_none=True)
    records_restored = fields.Int()
    proof = fields.Nested(ProofOut, allow_none=True)
    created_at = fields.Str()


class StaffAbsencesQuery(Schema):
    status = fields.Str(load_default="pending",
                        validate=validate.OneOf(["pending", "approved", "rejected"]))
    cursor = fields.Str(validate=validate.Length(max=200))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))


class DecisionIn(Schema):
    approve = fields.Bool(required=True)
    comment = fields.Str(validate=validate.Length(max=2000),
                         metadata={"description": "Required to reject"})


class ClosureIn(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    countries = fields.List(fields.Str(validate=COUNTRY), validate=validate.Length(max=250),
                            metadata={"description": "Empty or absent: every country"})
    tiers = fields.List(_tier(), validate=validate.Length(max=3),
                        metadata={"description": "Empty or absent: every tier"})
    reason = fields.Str(load_default="", validate=validate.Length(max=500))


class ClosureOut(Schema):
    id = fields.Str()
    start_date = fields.Str()
    end_date = fields.Str()
    countries = fields.List(fields.Str())
    tiers = fields.List(fields.Str())
    reason = fields.Str()
    plans_affected = fields.Int()
    declared_by = fields.Str()
    created_at = fields.Str()


class DayCloseIn(Schema):
    date = fields.Date(required=True)


class ClosedDateOut(Schema):
    date = fields.Str()
    plans = fields.Int()
    reported = fields.Int()
    applied = fields.Int()


class DayCloseOut(Schema):
    date = fields.Str()
    dates = fields.List(fields.Nested(ClosedDateOut))
    plans_still_open = fields.Int()
    reports_waiting = fields.Int()


class ForecastQuery(Schema):
    days = fields.Int(load_default=14, validate=validate.Range(min=1, max=366))


class DemandOut(Schema):
    date = fields.Str()
    country = fields.Str()
    tier = fields.Str()
    records = fields.Int()


class DayDemandOut(Schema):
    date = fields.Str()
    records = fields.Int()


class ForecastOut(Schema):
    from_date = fields.Str()
    days = fields.Int()
    items = fields.List(fields.Nested(DemandOut))
    per_day = fields.List(fields.Nested(DayDemandOut))
    total = fields.Int()
    active_plans = fields.Int()


PlanPage = page_of(PlanOut)
AbsencePage = page_of(AbsenceOut)
ClosurePage = page_of(ClosureOut)
