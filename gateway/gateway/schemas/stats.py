"""Schemas of statistics models (admin tool 3) and their figures."""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import Text
from suivi_common import stats


class StatModelIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    metric = Text(required=True, validate=validate.OneOf(stats.METRICS))
    grouping = Text(required=True, validate=validate.OneOf(stats.GROUPINGS))
    window_days = fields.Int(load_default=30, strict=True,
                             validate=validate.Range(min=1, max=stats.MAX_WINDOW_DAYS))


class StatModelOut(Schema):
    id = Text()
    name = Text()
    metric = Text()
    grouping = Text()
    window_days = fields.Int()
    created_by = Text()
    created_at = Text()
    updated_at = Text()


class StatQuery(Schema):
    #: first and last Paris day (both included); by default the model's window ending today
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    format = Text(load_default="json", validate=validate.OneOf(("json", "csv", "svg")))


class StatPointOut(Schema):
    x = Text()
    value = fields.Raw()  # a count (int) or a take rate (0..1)


class StatSeriesOut(Schema):
    name = Text()
    points = fields.List(fields.Nested(StatPointOut))


class StatFiguresOut(Schema):
    model = fields.Nested(StatModelOut)
    #: "member": the caller's own data; "network": the admin's view (art. 5)
    scope = Text()
    from_ = Text(data_key="from", attribute="from")
    to = Text()
    series = fields.List(fields.Nested(StatSeriesOut))
