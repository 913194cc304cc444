"""Schemas of the compliance area: the audit trail, data-subject requests, breaches,
sub-processors and the register (processing annex of the terms)."""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import PageQuery, Text

ID = validate.Length(max=64)


# --- the audit trail ------------------------------------------------------------------------
class AuditQuery(PageQuery):
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


class RequestsQuery(PageQuery):
    status = Text(validate=validate.OneOf(REQUEST_STATUSES))


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


class ExportStatusOut(Schema):
    """An access or portability request's export (null for the other kinds)."""

    available = fields.Bool()
    available_until = Text(allow_none=True)
    destroyed_at = Text(allow_none=True)
    built_at = Text(allow_none=True)  # the receipt: when it was first downloaded


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
    export = fields.Nested(ExportStatusOut, allow_none=True)


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
    export = fields.Nested(ExportStatusOut, allow_none=True)
    issued_at = Text()


# --- breaches -------------------------------------------------------------------------------
DATA_CATEGORIES = ["identity", "email", "phone", "call_window", "postal_code", "city",
                   "country", "professional_situation", "time_available", "birth_date",
                   "income_goal", "source", "comments", "electronic_exchanges"]
BREACH_SERVICES = ["gateway", "accounts", "plans", "leads", "mailer", "compliance"]
LONG_TEXT = validate.Length(min=1, max=4000)


class BreachScopeIn(Schema):
    kind = Text(required=True, validate=validate.OneOf(["networks", "users", "all"]))
    ids = fields.List(Text(validate=ID), load_default=list, validate=validate.Length(max=10_000))
    changed_from = fields.AwareDateTime(allow_none=True)
    changed_to = fields.AwareDateTime(allow_none=True)


class BreachIn(Schema):
    nature = Text(required=True, multiline=True, validate=LONG_TEXT)
    detected_at = fields.AwareDateTime(required=True)
    data_categories = fields.List(Text(validate=validate.OneOf(DATA_CATEGORIES)), required=True,
                                  validate=validate.Length(min=1, max=len(DATA_CATEGORIES)))
    services = fields.List(Text(validate=validate.OneOf(BREACH_SERVICES)), required=True,
                           validate=validate.Length(min=1, max=len(BREACH_SERVICES)))
    scope = fields.Nested(BreachScopeIn, required=True)
    likely_consequences = Text(required=True, multiline=True, validate=LONG_TEXT)
    measures_taken = Text(required=True, multiline=True, validate=LONG_TEXT)


class BreachUpdateIn(Schema):
    text = Text(required=True, multiline=True, validate=LONG_TEXT)
    measures_taken = Text(multiline=True, allow_none=True, validate=LONG_TEXT)
    likely_consequences = Text(multiline=True, allow_none=True, validate=LONG_TEXT)


class CategoryOut(Schema):
    code = Text()
    label = Text()


class CountdownOut(Schema):
    deadline_at = Text()
    seconds_remaining = fields.Int()
    overdue = fields.Bool()


class NoticeCountsOut(Schema):
    requested = fields.Int()
    sent = fields.Int()
    failed = fields.Int()


class BreachProgressOut(Schema):
    controllers = fields.Int()
    persons = fields.Int()
    records = fields.Int()
    notices = fields.Nested(NoticeCountsOut)
    answered = fields.Int()
    authority_approved = fields.Int()
    subjects_approved = fields.Int()


class BreachStageOut(Schema):
    stage = fields.Int()
    text = Text()
    created_at = Text()


class BreachOut(Schema):
    id = Text()
    nature = Text()
    detected_at = Text()
    declared_at = Text()
    declared_by = Text()
    data_categories = fields.List(fields.Nested(CategoryOut))
    services = fields.List(Text())
    scope = fields.Dict(keys=Text(), values=fields.Raw())
    likely_consequences = Text()
    measures_taken = Text()
    stage = fields.Int()
    counted_at = Text(allow_none=True)
    count_error = Text(allow_none=True)
    countdown = fields.Nested(CountdownOut)
    progress = fields.Nested(BreachProgressOut)
    updates = fields.List(fields.Nested(BreachStageOut))


class ControllerNoticeOut(Schema):
    stage = fields.Int()
    status = Text()
    requested_at = Text()
    delivered_at = Text(allow_none=True)


class BreachControllerOut(Schema):
    user_id = Text()
    network_id = Text(allow_none=True)
    persons = fields.Int()
    records = fields.Int()
    counted_at = Text()
    answered_at = Text(allow_none=True)
    notify_authority = fields.Bool(allow_none=True)
    notify_subjects = fields.Bool(allow_none=True)
    notices = fields.List(fields.Nested(ControllerNoticeOut))


class DpoOut(Schema):
    name = Text(allow_none=True)
    email = Text(allow_none=True)


class MyBreachOut(Schema):
    id = Text()
    nature = Text()
    detected_at = Text()
    data_categories = fields.List(fields.Nested(CategoryOut))
    likely_consequences = Text()
    measures_taken = Text()
    stage = fields.Int()
    persons = fields.Int()
    records = fields.Int()
    countdown = fields.Nested(CountdownOut)
    dpo = fields.Nested(DpoOut)
    updates = fields.List(fields.Nested(BreachStageOut))
    answered_at = Text(allow_none=True)
    notify_authority = fields.Bool(allow_none=True)
    notify_subjects = fields.Bool(allow_none=True)
    authority_record_available = fields.Bool()


class ApprovalIn(Schema):
    notify_authority = fields.Bool(required=True)
    notify_subjects = fields.Bool(required=True)


class AuthorityRecordOut(Schema):
    breach_id = Text()
    controller = fields.Dict(keys=Text(), values=fields.Raw())
    processor = Text()
    nature = Text()
    data_categories = fields.List(fields.Nested(CategoryOut))
    approximate_persons = fields.Int()
    approximate_records = fields.Int()
    dpo = fields.Nested(DpoOut)
    likely_consequences = Text()
    measures_taken = Text()
    services = fields.List(Text())
    scope = fields.Dict(keys=Text(), values=fields.Raw())
    subjects_to_be_notified = fields.Bool()
    timeline = fields.Dict(keys=Text(), values=fields.Raw())
    stages = fields.List(fields.Dict(keys=Text(), values=fields.Raw()))
    generated_at = Text()


# --- sub-processors -------------------------------------------------------------------------
class SubprocessorOut(Schema):
    id = Text()
    name = Text()
    contact = Text()
    activity = Text()
    country = Text()
    contract_start = Text()
    contract_end = Text(allow_none=True)
    status = Text()  # announced | active | replaced | objected (for the caller)
    change_id = Text(allow_none=True)
    effective_from = Text(allow_none=True)
    replaced_from = Text(allow_none=True)
    objected = fields.Bool()


class SubprocessorChangeIn(Schema):
    kind = Text(required=True, validate=validate.OneOf(["add", "replace"]))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    contact = Text(required=True, multiline=True, validate=validate.Length(min=1, max=500))
    activity = Text(required=True, multiline=True, validate=validate.Length(min=1, max=2000))
    country = Text(required=True, validate=validate.Length(equal=2))
    contract_start = fields.Date(required=True)
    contract_end = fields.Date(allow_none=True)
    replaces = Text(allow_none=True, validate=ID)
    effective_from = fields.AwareDateTime(required=True)


class SubprocessorChangeOut(Schema):
    id = Text()
    kind = Text()
    subprocessor_id = Text()
    replaces_id = Text(allow_none=True)
    notice_sent_at = Text()
    effective_from = Text()
    in_effect = fields.Bool()
    created_by = Text()
    objections = fields.Int()


class ObjectionIn(Schema):
    reason = Text(required=True, multiline=True, validate=validate.Length(min=1, max=2000))


class ObjectionOut(Schema):
    change_id = Text()
    objected_at = Text()
    effective_from = Text()


class ObjectionSeenOut(Schema):
    user_id = Text()
    network_id = Text(allow_none=True)
    reason = Text()
    created_at = Text()


# --- the register ---------------------------------------------------------------------------
class RegisterOut(Schema):
    generated_at = Text()
    processor = fields.Dict(keys=Text(), values=fields.Raw())
    controllers = fields.Dict(keys=Text(), values=fields.Raw())
    processing_on_behalf_of_controllers = fields.Dict(keys=Text(), values=fields.Raw())
    activities = fields.List(fields.Dict(keys=Text(), values=fields.Raw()))
    subprocessors = fields.List(fields.Nested(SubprocessorOut))
    security_measures = fields.List(Text())
    declared_by = fields.List(Text())
    missing = fields.Dict(keys=Text(), values=Text())


# --- the end of contract (annex IV.12) ------------------------------------------------------
class EndOfContractArchiveOut(Schema):
    filename = Text(allow_none=True)
    size = fields.Int(allow_none=True)
    available = fields.Bool()


class EndOfContractOut(Schema):
    """One controller's end of contract: collecting -> ready -> shredding -> destroyed."""

    contract_id = Text()
    user_id = Text()
    status = Text()
    created = fields.Bool()  # the POST: false when one was already under way
    requested_at = Text()
    ready_at = Text(allow_none=True)
    archive = fields.Nested(EndOfContractArchiveOut)
    confirmed_at = Text(allow_none=True)
    shred_after = Text(allow_none=True)
    shred_requested_at = Text(allow_none=True)
    destroyed_at = Text(allow_none=True)
    services = fields.Dict(keys=Text(), values=fields.Raw())
    certificate = fields.Dict(keys=Text(), values=fields.Raw(), allow_none=True)


class CertificateOut(Schema):
    """The certificate of destruction: what went where, the keys shredded, when."""

    format_version = fields.Int()
    kind = Text()
    contract_id = Text()
    controller = fields.Dict(keys=Text(), values=fields.Raw())
    processor = fields.Dict(keys=Text(), values=fields.Raw())
    basis = Text()
    method = Text()
    timeline = fields.Dict(keys=Text(), values=fields.Raw())
    services = fields.Dict(keys=Text(), values=fields.Raw())
    totals = fields.Dict(keys=Text(), values=fields.Int())
    archive = fields.Dict(keys=Text(), values=fields.Raw())
    keys = fields.List(fields.Dict(keys=Text(), values=fields.Raw()))
    issued_at = Text()
