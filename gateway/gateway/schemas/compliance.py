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
