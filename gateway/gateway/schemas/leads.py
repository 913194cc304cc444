"""Schemas of the leads area: capture, capture sites, stock, takes, auto-delivery."""
from marshmallow import Schema, fields, validate

CAPTURE_BATCH_MAX = 1000


class CaptureIn(Schema):
    # Items stay raw: each one is validated by leads, so a bad item never sinks the batch.
    leads = fields.List(fields.Raw(), required=True,
                        validate=validate.Length(max=CAPTURE_BATCH_MAX))


class CaptureResultOut(Schema):
    status = fields.Str()  # accepted | rejected | duplicate
    id = fields.Str()
    errors = fields.Dict(keys=fields.Str(), values=fields.Str())


class CaptureOut(Schema):
    results = fields.List(fields.Nested(CaptureResultOut))


class CaptureSiteIn(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=2048))


class CaptureSiteOut(Schema):
    id = fields.Str()
    name = fields.Str()
    url = fields.Str()
    key_prefix = fields.Str()
    created_at = fields.Str()
    revoked_at = fields.Str(allow_none=True)


class CaptureSiteCreatedOut(CaptureSiteOut):
    key = fields.Str()  # shown once; only its hash is stored


class StockLevelOut(Schema):
    country = fields.Str()
    tier = fields.Str()
    available = fields.Int()
    oldest_captured_at = fields.Str(allow_none=True)
    oldest_age_hours = fields.Float(allow_none=True)
    demand_today = fields.Int()
    short = fields.Bool()


class StockOut(Schema):
    items = fields.List(fields.Nested(StockLevelOut))


class StockAlertOut(Schema):
    country = fields.Str()
    tier = fields.Str()
    date = fields.Str()
    demand = fields.Int()
    available = fields.Int()
    created_at = fields.Str()


class StockAlertsQuery(Schema):
    date = fields.Date()


class TakeIn(Schema):
    max = fields.Int(load_default=None, allow_none=True,
                     validate=validate.Range(min=1, max=10_000))


class LeadOut(Schema):
    id = fields.Str()
    plan_id = fields.Str()
    tier = fields.Str()
    country = fields.Str()
    captured_at = fields.Str()
    delivered_at = fields.Str()
    first_name = fields.Str(allow_none=True)
    last_name = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    mobile = fields.Str(allow_none=True)
    landline = fields.Str(allow_none=True)
    call_window = fields.Str(allow_none=True)
    postal_code = fields.Str(allow_none=True)
    city = fields.Str(allow_none=True)
    professional_situation = fields.Str(allow_none=True)
    time_available = fields.Str(allow_none=True)
    birth_date = fields.Str(allow_none=True)
    income_goal = fields.Str(allow_none=True)
    source_url = fields.Str(allow_none=True)
    consent_at = fields.Str(allow_none=True)
    capture_ip = fields.Str(allow_none=True)


class TakeOut(Schema):
    leads = fields.List(fields.Nested(LeadOut))
    taken_today = fields.Int()
    quota_today = fields.Int()
    shortfall_today = fields.Int()


class AutoDeliveryIn(Schema):
    enabled = fields.Bool(required=True)


class AutoDeliveryOut(Schema):
    plan_id = fields.Str()
    auto_delivery = fields.Bool()
