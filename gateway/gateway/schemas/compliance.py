"""Schemas of the compliance area: the audit trail, data-subject requests, breaches,
sub-processors and the register (processing annex of the terms)."""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import MAX_PAGE, Text

ID = validate.Length(max=64)


# --- the audit trail ------------------------------------------------------------------------
class AuditQuery(Schema):
    cursor = Text(validate=validate.Length(max=200))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    kind = Text(validate=validate.Length(max=100))


class AuditEntryOut(Schema):
    seq = fields.Int()
    recorded_at = Text()
    kind = Text()
    actor = fields.Dict(keys=Text(), values=fields.Raw())
    subject = fields.Dict(keys=Text(), values=fields.Raw())
    details = fields.Dict(keys=Text(), values=fields.Raw())
    prev_hash = Text()
    hash = Text()


class ChainProblemOut(Schema):
    seq = fields.Int()
    problem = Text()
    detail = Text()


class AuditHeadOut(Schema):
    seq = fields.Int()
    hash = Text()


class AuditVerifyOut(Schema):
    ok = fields.Bool()
    entries_checked = fields.Int()
    head = fields.Nested(AuditHeadOut)
    problem = fields.Nested(ChainProblemOut, allow_none=True)
    verified_at = Text()


# --- data-subject requests ------------------------------------------------------------------
KINDS = ["access", "rectification", "erasure", "restriction", "objection", "portability"]
REQUEST_STATUSES = ["received", "in_progress", "completed", "denied", "failed"]


class RequestIn(Schema):
    kind = Text(required=True, validate=validate.OneOf(KINDS))
    email = Text(allow_none=True, validate=validate.Length(max=254))
    phone = Text(allow_none=True, validate=validate.Length(max=40))
    received_at = fields.AwareDateTime(required=True)
    note = Text(multiline=True, allow_none=True, validate=validate.Length(max=4000))
    changes = fields.Dict(keys=Text(validate=validate.Length(max=40)),
                          values=Text(validate=validate.Length(max=200)), allow_none=True)


class RequestsQuery(Schema):
    status = Text(validate=validate.OneOf(REQUEST_STATUSES))
    cursor = Text(validate=validate.Length(max=200))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


class TaskOut(Schema):
    service = Text()
    status = Text()
    attempts = fields.Int()
    first_sent_at = Text(allow_none=True)
    last_sent_at = Text(allow_none=True)
    answered_at = Text(allow_none=True)
    found = fields.Bool(allow_none=True)
    records_affected = fields.Int(allow_none=True)
    error = Text(allow_none=True)
    late = fields.Bool()


class ExtensionOut(Schema):
    months = fields.Int()
    reason = Text()
    at = Text()
    by = Text()


class RequestSummaryOut(Schema):
    id = Text()
    kind = Text()
    status = Text()
    received_at = Text()
    due_on = Text()
    overdue = fields.Bool()
    extension_months = fields.Int()
    extensions = fields.List(fields.Nested(ExtensionOut))
    has_email = fields.Bool()
    has_phone = fields.Bool()
    created_by = Text()
    created_at = Text()
    started_at = Text(allow_none=True)
    completed_at = Text(allow_none=True)
    denied_reason = Text(allow_none=True)
    subject_shredded = fields.Bool()
    late = fields.Bool()
    tasks = fields.List(fields.Nested(TaskOut))


class RequestOut(RequestSummaryOut):
    email = Text(allow_none=True)
    phone = Text(allow_none=True)
    note = Text(allow_none=True)
    changes = fields.Dict(keys=Text(), values=Text(), allow_none=True)


class DenyIn(Schema):
    reason = Text(required=True, multiline=True, validate=validate.Length(min=1, max=2000))


class ExtendIn(Schema):
    months = fields.Int(required=True, validate=validate.Range(min=1, max=2))
    reason = Text(required=True, multiline=True, validate=validate.Length(min=1, max=2000))


class ReceiptServiceOut(Schema):
    service = Text()
    found = fields.Bool(allow_none=True)
    records_affected = fields.Int(allow_none=True)
    requested_at = Text(allow_none=True)
    answered_at = Text(allow_none=True)
    attempts = fields.Int()


class ReceiptOut(Schema):
    request_id = Text()
    kind = Text()
    status = Text()
    received_at = Text()
    due_on = Text()
    completed_at = Text(allow_none=True)
    denied_reason = Text(allow_none=True)
    on_time = fields.Bool()
    services = fields.List(fields.Nested(ReceiptServiceOut))
    records_affected = fields.Int()
    subject_shredded = fields.Bool()
    issued_at = Text()
