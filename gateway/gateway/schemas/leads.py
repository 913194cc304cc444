"""Schemas of the leads area: capture, capture sites, stock, takes, auto-delivery."""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import PageQuery, Text, Url

#: the office kinds (issue 13 §1, ``suivi_common.kinds``)
KINDS = ("distribution", "construction")

CAPTURE_BATCH_MAX = 1000


class CaptureIn(Schema):
    # Items stay raw: each one is validated by leads, so a bad item never sinks the batch.
    leads = fields.List(fields.Raw(), required=True,
                        validate=validate.Length(max=CAPTURE_BATCH_MAX))


class CaptureResultOut(Schema):
    status = Text()  # accepted | rejected | duplicate
    id = Text()
    errors = fields.Dict(keys=Text(), values=Text())


class CaptureOut(Schema):
    results = fields.List(fields.Nested(CaptureResultOut))


class CaptureSiteIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=120))
    url = Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=2048))
    # the kind of lead the site collects; absent: construction
    kind = Text(load_default="construction", validate=validate.OneOf(KINDS))


class CaptureSiteOut(Schema):
    id = Text()
    name = Text()
    url = Text()
    kind = Text()
    key_prefix = Text()
    created_at = Text()
    revoked_at = Text(allow_none=True)


class CaptureSiteCreatedOut(CaptureSiteOut):
    key = Text()  # shown once; only its hash is stored


class StockLevelOut(Schema):
    country = Text()
    tier = Text()
    kind = Text()
    available = fields.Int()
    oldest_captured_at = Text(allow_none=True)
    oldest_age_hours = fields.Float(allow_none=True)
    demand_today = fields.Int()
    short = fields.Bool()


class StockOut(Schema):
    items = fields.List(fields.Nested(StockLevelOut))


class StockAlertOut(Schema):
    country = Text()
    tier = Text()
    kind = Text()
    date = Text()
    demand = fields.Int()
    available = fields.Int()
    created_at = Text()


class StockAlertsQuery(PageQuery):
    date = fields.Date()


class TakeIn(Schema):
    max = fields.Int(load_default=None, allow_none=True,
                     validate=validate.Range(min=1, max=10_000))


class LeadOut(Schema):
    id = Text()
    plan_id = Text()
    tier = Text()
    kind = Text()
    country = Text()
    captured_at = Text()
    delivered_at = Text()
    first_name = Text(allow_none=True)
    last_name = Text(allow_none=True)
    email = Text(allow_none=True)
    mobile = Text(allow_none=True)
    landline = Text(allow_none=True)
    call_window = Text(allow_none=True)
    postal_code = Text(allow_none=True)
    city = Text(allow_none=True)
    professional_situation = Text(allow_none=True)
    time_available = Text(allow_none=True)
    birth_date = Text(allow_none=True)
    income_goal = Text(allow_none=True)
    source_url = Text(allow_none=True)
    consent_at = Text(allow_none=True)
    capture_ip = Text(allow_none=True)


class TakeOut(Schema):
    leads = fields.List(fields.Nested(LeadOut))
    taken_today = fields.Int()
    quota_today = fields.Int()
    shortfall_today = fields.Int()


class AutoDeliveryIn(Schema):
    enabled = fields.Bool(required=True)


class AutoDeliveryOut(Schema):
    plan_id = Text()
    auto_delivery = fields.Bool()
