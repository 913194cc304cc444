"""Schemas of the plans area: quotes, plans, extensions, absences, sales closures, day
close and the demand forecast.

Inputs are checked for shape here; the plan rules themselves (tiers, record bounds,
open countries, dates) are the plans service's, which answers with typed errors.
"""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import PageQuery, PaymentSummaryOut, Text, page_of

TIERS = ["standard", "premium", "premium_plus"]
KINDS = ["distribution", "construction"]  # the office kinds (issue 13 §1)
COUNTRY = validate.Regexp(r"^[A-Za-z]{2}$", error="Expected an ISO 3166 alpha-2 code")
METHOD = validate.Length(min=1, max=30)


def _records() -> fields.Int:
    return fields.Int(required=True, strict=True,
                      metadata={"description": "Number of leads (bounds set by the plans service)"})


def _tier(required: bool = True) -> Text:
    return Text(required=required, validate=validate.Length(min=1, max=40),
                metadata={"description": "Lead grade", "enum": TIERS})


class QuoteIn(Schema):
    records = _records()
    tier = _tier()
    country = Text(required=True, validate=COUNTRY)
    kind = Text(load_default="construction", validate=validate.OneOf(KINDS),
                metadata={"description": "The office kind whose leads the plan buys; the "
                                         "subscription must cover it (absent: construction)"})


class QuoteOut(Schema):
    unit_price_cents = fields.Int()
    total_cents = fields.Int()
    daily_quota = fields.Int()
    days = fields.Int()
    records = fields.Int()
    tier = Text()
    kind = Text()
    country = Text()


class PlanCreateIn(QuoteIn):
    payment_method = Text(required=True, validate=METHOD,
                          metadata={"description": "card, transfer or cheque"})


class PlanPaymentOut(PaymentSummaryOut):
    """The payment of a plan or an extension."""


class TodayOut(Schema):
    date = Text()
    quota = fields.Int()
    taken = fields.Int()
    shortfall = fields.Int()
    live = fields.Bool(metadata={"description": "False when leads could not be asked: taken "
                                                "and shortfall are then 0"})


class TierChangeOut(Schema):
    from_tier = Text()
    to_tier = Text()
    records_before = fields.Int()
    records_after = fields.Int()
    unit_price_before_cents = fields.Int()
    unit_price_after_cents = fields.Int()
    residue_cents = fields.Int()


class ExtensionQuoteOut(Schema):
    plan_id = Text()
    tier = Text()
    records = fields.Int()
    unit_price_cents = fields.Int()
    gross_cents = fields.Int()
    credit_applied_cents = fields.Int()
    total_cents = fields.Int()


class ExtensionOut(ExtensionQuoteOut):
    id = Text()
    status = Text(metadata={"enum": ["pending_payment", "paid", "applied", "cancelled"]})
    payment_id = Text(allow_none=True)
    created_at = Text()
    applied_at = Text(allow_none=True)
    payment = fields.Nested(PlanPaymentOut, allow_none=True)


class PlanOut(Schema):
    id = Text()
    status = Text(metadata={"enum": ["pending_payment", "active", "completed", "cancelled"]})
    tier = Text()
    kind = Text(metadata={"enum": KINDS})
    country = Text()
    records_total = fields.Int(metadata={"description": "Records paid for (order + extensions)"})
    records_remaining = fields.Int(metadata={"description": "Owed at the start of today; today's "
                                                           "takes are deducted at the day close"})
    daily_quota = fields.Int()
    start_date = Text(allow_none=True)
    end_date = Text(allow_none=True)
    credit_cents = fields.Int()
    unit_price_cents = fields.Int()
    total_cents = fields.Int()
    payment_id = Text(allow_none=True)
    created_at = Text()
    activated_on = Text(allow_none=True)
    last_closed_date = Text(allow_none=True)
    blocked_dates = fields.List(Text())
    tier_changed_on = Text(allow_none=True)
    today = fields.Nested(TodayOut)
    extensions = fields.List(fields.Nested(ExtensionOut))
    tier_change = fields.Nested(TierChangeOut)


class PlanCreatedOut(PlanOut):
    payment = fields.Nested(PlanPaymentOut)


class PlansQuery(PageQuery):
    status = Text(validate=validate.OneOf(["pending_payment", "active", "completed",
                                                 "cancelled"]))


class TierIn(Schema):
    tier = _tier()


class ExtendQuoteIn(Schema):
    records = _records()


class ExtendIn(ExtendQuoteIn):
    payment_method = Text(required=True, validate=METHOD,
                          metadata={"description": "card, transfer or cheque (unused when "
                                                         "the plan's credit pays it all)"})


class AbsenceIn(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    force_majeure = fields.Bool(load_default=False)
    reason = Text(validate=validate.Length(max=40), metadata={"enum": [
        "hospitalisation", "bereavement", "relative_in_distress", "separation", "other"]})
    details = Text(multiline=True, validate=validate.Length(max=2000))
    plan_id = Text(validate=validate.Length(max=64),
                   metadata={"description": "Required for a force-majeure absence"})


class ProofOut(Schema):
    mime = Text()
    size = fields.Int()
    uploaded_at = Text()


class AbsenceOut(Schema):
    id = Text()
    kind = Text(metadata={"enum": ["planned", "force_majeure"]})
    status = Text(metadata={"enum": ["pending", "approved", "rejected"]})
    user_id = Text()
    plan_id = Text(allow_none=True)
    plan_ids = fields.List(Text())
    start_date = Text()
    end_date = Text()
    requested_on = Text()
    reason = Text(allow_none=True)
    details = Text(allow_none=True)
    decided_on = Text(allow_none=True)
    staff_comment = Text(allow_none=True)
    records_restored = fields.Int()
    proof = fields.Nested(ProofOut, allow_none=True)
    created_at = Text()


class StaffAbsencesQuery(PageQuery):
    status = Text(load_default="pending",
                  validate=validate.OneOf(["pending", "approved", "rejected"]))


class DecisionIn(Schema):
    approve = fields.Bool(required=True)
    comment = Text(multiline=True, validate=validate.Length(max=2000),
                   metadata={"description": "Required to reject"})


class ClosureIn(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    countries = fields.List(Text(validate=COUNTRY), validate=validate.Length(max=250),
                            metadata={"description": "Empty or absent: every country"})
    tiers = fields.List(_tier(), validate=validate.Length(max=3),
                        metadata={"description": "Empty or absent: every tier"})
    reason = Text(load_default="", multiline=True, validate=validate.Length(max=500))


class ClosureOut(Schema):
    id = Text()
    start_date = Text()
    end_date = Text()
    countries = fields.List(Text())
    tiers = fields.List(Text())
    reason = Text()
    plans_affected = fields.Int()
    declared_by = Text()
    created_at = Text()


class DayCloseIn(Schema):
    date = fields.Date(required=True)


class ClosedDateOut(Schema):
    date = Text()
    plans = fields.Int()
    reported = fields.Int()
    applied = fields.Int()


class DayCloseOut(Schema):
    date = Text()
    dates = fields.List(fields.Nested(ClosedDateOut))
    plans_still_open = fields.Int()
    reports_waiting = fields.Int()


class ForecastQuery(Schema):
    days = fields.Int(load_default=14, validate=validate.Range(min=1, max=366))


class DemandOut(Schema):
    date = Text()
    country = Text()
    tier = Text()
    kind = Text(metadata={"enum": KINDS})
    records = fields.Int()


class DayDemandOut(Schema):
    date = Text()
    records = fields.Int()


class ForecastOut(Schema):
    from_date = Text()
    days = fields.Int()
    items = fields.List(fields.Nested(DemandOut))
    per_day = fields.List(fields.Nested(DayDemandOut))
    total = fields.Int()
    active_plans = fields.Int()


PlanPage = page_of(PlanOut)
AbsencePage = page_of(AbsenceOut)
ClosurePage = page_of(ClosureOut)
