"""Schemas of platform plumbing: health, dev clock, dead letters."""
from marshmallow import Schema, fields, validate


class ClockIn(Schema):
    now = fields.AwareDateTime(required=True)


class ClockOut(Schema):
    now = fields.Str()
    offset_seconds = fields.Float()
    confirmed = fields.List(fields.Str())


class DeadLetterOut(Schema):
    id = fields.Str()
    service = fields.Str()
    queue = fields.Str()
    handler = fields.Str()
    message_id = fields.Str()
    payload = fields.Raw()
    error = fields.Str()
    attempts = fields.Int()
    failed_at = fields.Str()
    replayed_at = fields.Str(allow_none=True)


class DeadLetterQuery(Schema):
    include_replayed = fields.Bool(load_default=False)


class ReplayOut(Schema):
    id = fields.Str()
    replayed = fields.Bool()


class HealthOut(Schema):
    status = fields.Str()
    services = fields.Dict(keys=fields.Str(), values=fields.Dict())


class CardCallbackIn(Schema):
    payment_id = fields.Str(required=True, validate=validate.Length(max=64))
    provider_ref = fields.Str(required=True, validate=validate.Length(max=128))
    status = fields.Str(required=True, validate=validate.OneOf(["succeeded", "failed"]))
    amount_cents = fields.Int(required=True, validate=validate.Range(min=0))
    currency = fields.Str(load_default="EUR")
    occurred_at = fields.Str()
