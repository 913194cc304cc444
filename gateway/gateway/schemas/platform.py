"""Schemas of platform plumbing: health, dev clock, dead letters."""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import Text, page_of


class ClockIn(Schema):
    now = fields.AwareDateTime(required=True)


class ClockOut(Schema):
    now = Text()
    offset_seconds = fields.Float()
    confirmed = fields.List(Text())


class DeadLetterOut(Schema):
    id = Text()
    service = Text()
    queue = Text()
    handler = Text()
    message_id = Text()
    payload = fields.Raw()
    error = Text()
    attempts = fields.Int()
    failed_at = Text()
    replayed_at = Text(allow_none=True)


#: The staff's one listing across services (not paged: ``next_cursor`` is always null).
DeadLetterPage = page_of(DeadLetterOut, "DeadLetterPage", unavailable=fields.List(
    Text(), metadata={"description": (
        "Services that did not answer in time or could not be reached: their dead letters "
        "are missing from items (ask again). Empty when every service answered.")}))


class DeadLetterQuery(Schema):
    include_replayed = fields.Bool(load_default=False)


class ReplayOut(Schema):
    id = Text()
    replayed = fields.Bool()


class HealthOut(Schema):
    status = Text()
    services = fields.Dict(keys=Text(), values=fields.Dict())


class CardCallbackIn(Schema):
    payment_id = Text(required=True, validate=validate.Length(max=64))
    provider_ref = Text(required=True, validate=validate.Length(max=128))
    status = Text(required=True, validate=validate.OneOf(["succeeded", "failed"]))
    amount_cents = fields.Int(required=True, validate=validate.Range(min=0))
    currency = Text(load_default="EUR")
    occurred_at = Text()
