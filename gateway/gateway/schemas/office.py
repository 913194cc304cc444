"""Schemas of the office: leads, notes, history, pipeline, refund claims, export."""
from marshmallow import Schema, fields, validate

from gateway.schemas import common
from gateway.schemas.common import PageQuery, Text

SLUG = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="lower-case letters, digits and _")
SHORT = validate.Length(max=254)
REASONS = ("phone_unassigned", "wrong_country", "fake_record")
SORTS = ("created_desc", "created_asc", "status")
KINDS = ("distribution", "construction")  # the office kinds (issue 13 §1)


class LeadFilterQuery(Schema):
    """The listing's filters (also those of the export)."""

    status = Text(validate=validate.Length(max=40))
    origin = Text(validate=validate.OneOf(["purchased", "personal", "site"]))
    kind = Text(validate=validate.OneOf(KINDS))
    plan_id = Text(validate=validate.Length(max=64))
    created_from = fields.Date()
    created_to = fields.Date()
    postal_code = Text(validate=validate.Length(max=16))
    city = Text(validate=validate.Length(max=100))
    email = Text(validate=SHORT)
    phone = Text(validate=validate.Length(max=32))
    # no activity since this day: the stale-lead reminder's link (issue 12 §2, 3.B.iv)
    inactive_since = fields.Date()


class LeadListQuery(LeadFilterQuery, PageQuery):
    sort = Text(load_default="created_desc", validate=validate.OneOf(SORTS))


class ExportQuery(LeadFilterQuery):
    lang = Text(load_default="fr", validate=validate.OneOf(["fr", "en"]))


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

    # "direct": met in person, the user is its controller: no source URL nor consent time
    source = Text(validate=validate.OneOf(("form", "direct")))
    # which office the lead is for; absent: construction
    kind = Text(validate=validate.OneOf(KINDS))
    source_url = fields.Raw()
    consent_at = fields.Raw()
    capture_ip = fields.Raw(allow_none=True)


class TombstoneOut(Schema):
    reason = Text()
    text = Text()
    erased_on = Text()


class OfficeLeadSummaryOut(Schema):
    id = Text()
    origin = Text()
    kind = Text()  # distribution | construction
    status = Text()
    plan_id = Text(allow_none=True)
    created_at = Text()
    delivered_at = Text(allow_none=True)
    erased = fields.Bool()
    tombstone = fields.Nested(TombstoneOut, allow_none=True)  # why and when it was erased
    restricted = fields.Bool()  # GDPR art. 18: kept, but not sold, emailed nor exported
    first_name = Text(allow_none=True)
    last_name = Text(allow_none=True)
    email = Text(allow_none=True)
    mobile = Text(allow_none=True)
    landline = Text(allow_none=True)
    postal_code = Text(allow_none=True)
    city = Text(allow_none=True)
    country = Text(allow_none=True)


class ClaimRefOut(Schema):
    id = Text()
    status = Text()
    reason = Text()
    created_at = Text()
    decided_at = Text(allow_none=True)


class RefundInfoOut(Schema):
    deadline = Text(allow_none=True)
    claim = fields.Nested(ClaimRefOut, allow_none=True)


class SiteConsentOut(Schema):
    """What the visitor of the owner's site consented to (annex IV.7)."""

    kind = Text()  # the site's: distribution or construction
    page_id = Text()
    notice_version = Text()
    notice_text = Text()  # the exact information notice shown above the form's button
    source_url = Text()
    duplicate = fields.Bool()  # the form matched a lead already in the office
    consented_at = Text()


class OfficeLeadOut(OfficeLeadSummaryOut):
    call_window = Text(allow_none=True)
    professional_situation = Text(allow_none=True)
    time_available = Text(allow_none=True)
    birth_date = Text(allow_none=True)
    income_goal = Text(allow_none=True)
    source = Text(allow_none=True)  # form (source URL and consent kept) or direct
    source_url = Text(allow_none=True)
    consent_at = Text(allow_none=True)
    capture_ip = Text(allow_none=True)
    plan_country = Text(allow_none=True)
    updated_at = Text()
    erased_at = Text(allow_none=True)
    initial = fields.Dict(allow_none=True)  # the record as delivered (or entered)
    edited_by_user = fields.Bool()
    refund = fields.Nested(RefundInfoOut)
    site_consents = fields.List(fields.Nested(SiteConsentOut))  # origin site: its consents


class DeletedOut(common.DeletedOut):
    """A lead's deletion: a class of its own, which the OpenAPI document names
    ``DeletedOut1`` (its name since the office and the mailer each declared one)."""


class BulkDeleteIn(Schema):
    """The listing's filters (``inactive_since`` included, YYYY-MM-DD); leads checks them."""
    filter = fields.Dict(keys=Text(), required=True)


class BulkDeletedOut(Schema):
    deleted = fields.Int()
    kept = fields.Int()  # a pending refund claim or a restriction keeps a lead


class NoteIn(Schema):
    text = Text(required=True, multiline=True, validate=validate.Length(min=1, max=5000))


class NoteOut(Schema):
    id = Text()
    lead_id = Text()
    text = Text()
    author_id = Text()
    created_at = Text()


class StatusIn(Schema):
    status = Text(required=True, validate=validate.Length(min=1, max=40))
    reopen = fields.Bool(load_default=False)  # confirm leaving a terminal status


class HistoryOut(Schema):
    id = Text()
    field = Text()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)
    actor_id = Text()
    source = Text()  # user | admin | staff | system
    via = Text()
    changed_at = Text()
    redacted = fields.Bool()  # values gone with the lead's personal data


class PipelineIn(Schema):
    statuses = fields.List(Text(validate=SLUG), required=True,
                           validate=validate.Length(min=1, max=30))
    initial = Text(required=True, validate=SLUG)
    terminal = fields.List(Text(validate=SLUG), load_default=list,
                           validate=validate.Length(max=30))
    # removed status -> status of the new pipeline, for removed statuses still holding leads
    remap = fields.Dict(keys=Text(validate=validate.Length(max=40)),
                        values=Text(validate=SLUG), load_default=None)


class PipelineOut(Schema):
    statuses = fields.List(Text())
    initial = Text()
    terminal = fields.List(Text())
    version = fields.Int()
    moved = fields.Int()


class RefundClaimIn(Schema):
    reason = Text(required=True, validate=validate.OneOf(REASONS))
    comment = Text(load_default=None, allow_none=True, multiline=True,
                   validate=validate.Length(max=2000))


class RefundClaimOut(Schema):
    id = Text()
    lead_id = Text()
    plan_id = Text()
    reason = Text()
    status = Text()  # pending | approved | rejected
    comment = Text(allow_none=True)
    created_at = Text()
    decided_at = Text(allow_none=True)
    decision_comment = Text(allow_none=True)


class StaffRefundClaimOut(RefundClaimOut):
    user_id = Text()
    network_id = Text()
    decided_by = Text(allow_none=True)
    checks = fields.Dict(allow_none=True)
    lead = fields.Dict()


class StaffClaimsQuery(PageQuery):
    status = Text(validate=validate.OneOf(["pending", "approved", "rejected"]))


class ClaimDecisionIn(Schema):
    approve = fields.Bool(required=True)
    comment = Text(load_default=None, allow_none=True, multiline=True,
                   validate=validate.Length(max=2000))
