"""Schemas of the office: leads, notes, history, pipeline, refund claims, export."""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import PageQuery

SLUG = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="lower-case letters, digits and _")
SHORT = validate.Length(max=254)
REASONS = ("phone_unassigned", "wrong_country", "fake_record")
SORTS = ("created_desc", "created_asc", "status")


class LeadFilterQuery(Schema):
    """The listing's filters (also those of the export)."""

    status = fields.Str(validate=validate.Length(max=40))
    origin = fields.Str(validate=validate.OneOf(["purchased", "personal"]))
    plan_id = fields.Str(validate=validate.Length(max=64))
    created_from = fields.Date()
    created_to = fields.Date()
    postal_code = fields.Str(validate=validate.Length(max=16))
    city = fields.Str(validate=validate.Length(max=100))
    email = fields.Str(validate=SHORT)
    phone = fields.Str(validate=validate.Length(max=32))


class LeadListQuery(LeadFilterQuery, PageQuery):
    sort = fields.Str(load_default="created_desc", validate=validate.OneOf(SORTS))


class ExportQuery(LeadFilterQuery):
    lang = fields.Str(load_default="fr", validate=validate.OneOf(["fr", "en"]))


class OfficeLeadPatchIn(Schema):
    """Editable fields only (source_url, consent_at and capture_ip are evidence)."""

    first_name = fields.Raw()
    last_name = fields.Raw()
    email = fields.Raw(allow_none=True)
    mobile = fields.Raw(allow_none=True)
    landline = fields.Raw(allow_none=True)
    call_window = fields.Raw(allow_none=True)
    postal_code = fields.Raw(allow_none=True)
    city = fields.Raw(allow_none=True)
    country = fields.Raw()
    professional_situation = fields.Raw(allow_none=True)
    time_available = fields.Raw(allow_none=True)
    birth_date = fields.Raw(allow_none=True)
    income_goal = fields.Raw(allow_none=True)


class OfficeLeadIn(OfficeLeadPatchIn):
    """The capture fields (validated by leads with the capture pipeline)."""

    source_url = fields.Raw()
    consent_at = fields.Raw()
    capture_ip = fields.Raw(allow_none=True)


class OfficeLeadSummaryOut(Schema):
    id = fields.Str()
    origin = fields.Str()
    status = fields.Str()
    plan_id = fields.Str(allow_none=True)
    created_at = fields.Str()
    delivered_at = fields.Str(allow_none=True)
    erased = fields.Bool()
    first_name = fields.Str(allow_none=True)
    last_name = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    mobile = fields.Str(allow_none=True)
    landline = fields.Str(allow_none=True)
    postal_code = fields.Str(allow_none=True)
    city = fields.Str(allow_none=True)
    country = fields.Str(allow_none=True)


class ClaimRefOut(Schema):
    id = fields.Str()
    status = fields.Str()
    reason = fields.Str()
    created_at = fields.Str()
    decided_at = fields.Str(allow_none=True)


class RefundInfoOut(Schema):
    deadline = fields.Str(allow_none=True)
    claim = fields.Nested(ClaimRefOut, allow_none=True)


class OfficeLeadOut(OfficeLeadSummaryOut):
    call_window = fields.Str(allow_none=True)
    professional_situation = fields.Str(allow_none=True)
    time_available = fields.Str(allow_none=True)
    birth_date = fields.Str(allow_none=True)
    income_goal = fields.Str(allow_none=True)
    source_url = fields.Str(allow_none=True)
    consent_at = fields.Str(allow_none=True)
    capture_ip = fields.Str(allow_none=True)
    plan_country = fields.Str(allow_none=True)
    updated_at = fields.Str()
    erased_at = fields.Str(allow_none=True)
    initial = fields.Dict(allow_none=True)  # the record as delivered (or entered)
    edited_by_user = fields.Bool()
    refund = fields.Nested(RefundInfoOut)


class DeletedOut(Schema):
    id = fields.Str()
    deleted = fields.Bool()


class NoteIn(Schema):
    text = fields.Str(required=True, validate=validate.Length(min=1, max=5000))


class NoteOut(Schema):
    id = fields.Str()
    lead_id = fields.Str()
    text = fields.Str()
    author_id = fields.Str()
    created_at = fields.Str()


class StatusIn(Schema):
    status = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    reopen = fields.Bool(load_default=False)  # confirm leaving a terminal status


class HistoryOut(Schema):
    id = fields.Str()
    field = fields.Str()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)
    actor_id = fields.Str()
    source = fields.Str()  # user | admin | staff | system
    via = fields.Str()
    changed_at = fields.Str()
    redacted = fields.Bool()  # values gone with the lead's personal data


class PipelineIn(Schema):
    statuses = fields.List(fields.Str(validate=SLUG), required=True,
                           validate=validate.Length(min=1, max=30))
    initial = fields.Str(required=True, validate=SLUG)
    terminal = fields.List(fields.Str(validate=SLUG), load_default=list,
                           validate=validate.Length(max=30))
    # removed status -> status of the new pipeline, for removed statuses still holding leads
    remap = fields.Dict(keys=fields.Str(validate=validate.Length(max=40)),
                        values=fields.Str(validate=SLUG), load_default=None)


class PipelineOut(Schema):
    statuses = fields.List(fields.Str())
    initial = fields.Str()
    terminal = fields.List(fields.Str())
    version = fields.Int()
    moved = fields.Int()


class RefundClaimIn(Schema):
    reason = fields.Str(required=True, validate=validate.OneOf(REASONS))
    comment = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class RefundClaimOut(Schema):
    id = fields.Str()
    lead_id = fields.Str()
    plan_id = fields.Str()
    reason = fields.Str()
    status = fields.Str()  # pending | approved | rejected
    comment = fields.Str(allow_none=True)
    created_at = fields.Str()
    decided_at = fields.Str(allow_none=True)
    decision_comment = fields.Str(allow_none=True)


class StaffRefundClaimOut(RefundClaimOut):
    user_id = fields.Str()
    network_id = fields.Str()
    decided_by = fields.Str(allow_none=True)
    checks = fields.Dict(allow_none=True)
    lead = fields.Dict()


class StaffClaimsQuery(PageQuery):
    status = fields.Str(validate=validate.OneOf(["pending", "approved", "rejected"]))


class ClaimDecisionIn(Schema):
    approve = fields.Bool(required=True)
    comment = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))
