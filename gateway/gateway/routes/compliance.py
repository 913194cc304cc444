"""Compliance (terms, processing annex): routes under ``/api/compliance/*`` are for the
``compliance`` role only (platform staff is another role: 403); controllers (users and
admins) answer breach notices and sub-processor changes through their own routes. The
compliance service checks the role again."""
import base64
from typing import Any

from werkzeug.wrappers import Response

from gateway.http import Req, api
from gateway.schemas.common import PageQuery, page_args, page_of
from gateway.schemas.compliance import (
    ApprovalIn,
    AuditEntryOut,
    AuditQuery,
    AuditVerifyOut,
    AuthorityRecordOut,
    BreachControllerOut,
    BreachIn,
    BreachOut,
    BreachUpdateIn,
    CertificateOut,
    DenyIn,
    EndOfContractOut,
    ExtendIn,
    MyBreachOut,
    ObjectionIn,
    ObjectionOut,
    ObjectionSeenOut,
    ReceiptOut,
    RegisterOut,
    RequestIn,
    RequestOut,
    RequestsQuery,
    RequestSummaryOut,
    SubprocessorChangeIn,
    SubprocessorChangeOut,
    SubprocessorOut,
)
from suivi_common.errors import Conflict, SuiviError

COMPLIANCE = ("compliance",)
CONTROLLERS = ("user", "admin")
#: compliance's refusals of an export that existed and is no more (its ``domain.export.GONE``)
EXPORT_GONE = ("export_destroyed", "export_expired")
#: the end of contract's archive, once destroyed with the data (``end_of_contract.GONE``)
ARCHIVE_GONE = ("archive_destroyed",)


class Gone(SuiviError):
    """410: the object existed and was destroyed (a data-subject export past its days)."""

    status = 410
    default_code = "gone"
    default_message = "Gone"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _unless_gone(call: Any, gone: tuple[str, ...]) -> Any:
    """``call()``; its refusal naming a file destroyed (one of ``gone``) is a 410, not a 409."""
    try:
        return call()
    except Conflict as err:
        if err.code in gone:
            raise Gone(err.message, code=err.code) from None
        raise


def _attachment(doc: dict[str, Any], **headers: str) -> Response:
    """A file compliance built (base64 in ``content_b64``), downloaded under its name."""
    return Response(base64.b64decode(doc["content_b64"]), status=200,
                    content_type=doc["content_type"], headers={
                        "Content-Disposition": f'attachment; filename="{doc["filename"]}"',
                        **headers})


def _printable(doc: dict[str, Any]) -> Response:
    """A document compliance rendered as HTML, shown in the browser."""
    return Response(doc["html"], status=200, content_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{doc["filename"]}"'})


class ComplianceRoutes:
    compliance: Any

    # --- the audit trail (annex IV.15) ---------------------------------------------------
    @api("GET", "/api/compliance/audit", roles=COMPLIANCE, query=AuditQuery,
         response=page_of(AuditEntryOut), tags=("compliance",),
         summary="The audit trail, newest first; each entry chained to the previous by hash")
    def audit_log(self, req: Req) -> Any:
        q = req.query
        return self.compliance.audit_log(q.get("cursor"), q["limit"], q.get("kind"))

    @api("GET", "/api/compliance/audit/verify", roles=COMPLIANCE, response=AuditVerifyOut,
         tags=("compliance",), summary="Check the whole chain: a gap or an edit is reported")
    def audit_verify(self, req: Req) -> Any:
        return self.compliance.audit_verify()

    # --- data-subject requests (annex IV.8) ----------------------------------------------
    @api("POST", "/api/compliance/requests", roles=COMPLIANCE, body=RequestIn,
         response=RequestOut, status=201, tags=("compliance",),
         summary="Register a data-subject request; due one month after receipt")
    def register_request(self, req: Req) -> Any:
        b = req.body
        return self.compliance.register_request(
            b["kind"], b.get("email"), b.get("phone"), b["received_at"].isoformat(),
            b.get("note"), b.get("changes"))

    @api("GET", "/api/compliance/requests", roles=COMPLIANCE, query=RequestsQuery,
         response=page_of(RequestSummaryOut), tags=("compliance",),
         summary="Data-subject requests, newest first")
    def list_requests(self, req: Req) -> Any:
        q = req.query
        return self.compliance.list_requests(q.get("status"), q.get("cursor"), q["limit"])

    @api("GET", "/api/compliance/requests/<request_id>", roles=COMPLIANCE,
         response=RequestOut, tags=("compliance",),
         summary="A request, with each service's task (late ones flagged)")
    def get_request(self, req: Req, request_id: str) -> Any:
        return self.compliance.get_request(request_id)

    @api("POST", "/api/compliance/requests/<request_id>/process", roles=COMPLIANCE,
         response=RequestOut, tags=("compliance",),
         summary="Send one task per service holding personal data (resumes a failed request)")
    def process_request(self, req: Req, request_id: str) -> Any:
        return self.compliance.process_request(request_id)

    @api("POST", "/api/compliance/requests/<request_id>/deny", roles=COMPLIANCE, body=DenyIn,
         response=RequestOut, tags=("compliance",), summary="Deny a request, with a reason")
    def deny_request(self, req: Req, request_id: str) -> Any:
        return self.compliance.deny_request(request_id, req.body["reason"])

    @api("POST", "/api/compliance/requests/<request_id>/extensions", roles=COMPLIANCE,
         body=ExtendIn, response=RequestOut, tags=("compliance",),
         summary="Extend the deadline (two further months at most), with a reason")
    def extend_request(self, req: Req, request_id: str) -> Any:
        return self.compliance.extend_request(request_id, req.body["months"], req.body["reason"])

    @api("GET", "/api/compliance/requests/<request_id>/receipt", roles=COMPLIANCE,
         response=ReceiptOut, tags=("compliance",),
         summary="What each service found and did, once the request is closed")
    def request_receipt(self, req: Req, request_id: str) -> Any:
        return self.compliance.request_receipt(request_id)

    @api("GET", "/api/compliance/requests/<request_id>/export", roles=COMPLIANCE,
         content_type="application/zip", errors=(409, 410), tags=("compliance",),
         summary="Download an access or portability export (ZIP: one JSON, one CSV per "
                 "category) while it is available; 409 before completion, 410 once destroyed")
    def request_export(self, req: Req, request_id: str) -> Any:
        doc = _unless_gone(lambda: self.compliance.request_export(request_id), EXPORT_GONE)
        return _attachment(doc, **{"X-Export-Available-Until": doc["available_until"] or ""})

    # --- breaches (annex IV.9) ----------------------------------------------------------
    @api("POST", "/api/compliance/breaches", roles=COMPLIANCE, body=BreachIn, response=BreachOut,
         status=201, tags=("compliance",),
         summary="Declare a breach: each affected controller is counted and notified")
    def declare_breach(self, req: Req) -> Any:
        b = req.body
        scope = dict(b["scope"], changed_from=_iso(b["scope"].get("changed_from")),
                     changed_to=_iso(b["scope"].get("changed_to")))
        return self.compliance.declare_breach(b["nature"], b["detected_at"].isoformat(),
                                              b["data_categories"], b["services"], scope,
                                              b["likely_consequences"], b["measures_taken"])

    @api("GET", "/api/compliance/breaches", roles=COMPLIANCE, query=PageQuery,
         response=page_of(BreachOut), tags=("compliance",), summary="Breaches, newest first")
    def list_breaches(self, req: Req) -> Any:
        return self.compliance.list_breaches(*page_args(req.query))

    @api("GET", "/api/compliance/breaches/<breach_id>", roles=COMPLIANCE, response=BreachOut,
         tags=("compliance",),
         summary="A breach: 72-hour countdown, notices sent/failed, approvals")
    def get_breach(self, req: Req, breach_id: str) -> Any:
        return self.compliance.get_breach(breach_id)

    @api("GET", "/api/compliance/breaches/<breach_id>/controllers", roles=COMPLIANCE,
         query=PageQuery, response=page_of(BreachControllerOut), tags=("compliance",),
         summary="Each affected controller: counts, notices per stage, answer")
    def breach_controllers(self, req: Req, breach_id: str) -> Any:
        return self.compliance.breach_controllers(breach_id, *page_args(req.query))

    @api("POST", "/api/compliance/breaches/<breach_id>/updates", roles=COMPLIANCE,
         body=BreachUpdateIn, response=BreachOut, tags=("compliance",),
         summary="A follow-up notice to the same controllers")
    def breach_update(self, req: Req, breach_id: str) -> Any:
        b = req.body
        return self.compliance.breach_update(breach_id, b["text"], b.get("measures_taken"),
                                             b.get("likely_consequences"))

    @api("POST", "/api/compliance/breaches/<breach_id>/recount", roles=COMPLIANCE,
         response=BreachOut, tags=("compliance",),
         summary="Recompute the counts; controllers found now are notified")
    def breach_recount(self, req: Req, breach_id: str) -> Any:
        return self.compliance.breach_recount(breach_id)

    @api("GET", "/api/compliance/breaches/<breach_id>/authority-records", roles=COMPLIANCE,
         response=page_of(AuthorityRecordOut), tags=("compliance",),
         summary="The authority notification records controllers approved")
    def breach_authority_records(self, req: Req, breach_id: str) -> Any:
        return self.compliance.breach_authority_records(breach_id)

    # the controller's own routes: a breach that does not concern them is a 404; no terms
    # gate, since answering a breach notice is a legal duty whatever the terms' state
    @api("GET", "/api/breaches/<breach_id>", roles=CONTROLLERS, response=MyBreachOut,
         terms_gate=False, tags=("breaches",), summary="A breach that concerns me")
    def my_breach(self, req: Req, breach_id: str) -> Any:
        return self.compliance.my_breach(breach_id)

    @api("POST", "/api/breaches/<breach_id>/approval", roles=CONTROLLERS, body=ApprovalIn,
         response=MyBreachOut, terms_gate=False, tags=("breaches",),
         summary="My instruction: notify the authority, the persons concerned (once)")
    def approve_breach(self, req: Req, breach_id: str) -> Any:
        return self.compliance.approve_breach(breach_id, req.body["notify_authority"],
                                              req.body["notify_subjects"])

    @api("GET", "/api/breaches/<breach_id>/authority-record", roles=CONTROLLERS,
         response=AuthorityRecordOut, terms_gate=False, tags=("breaches",),
         summary="The authority notification record I approved (JSON)")
    def my_authority_record(self, req: Req, breach_id: str) -> Any:
        return self.compliance.my_authority_record(breach_id)

    @api("GET", "/api/breaches/<breach_id>/authority-record.html", roles=CONTROLLERS,
         terms_gate=False, content_type="text/html", tags=("breaches",),
         summary="The same record, printable")
    def my_authority_record_document(self, req: Req, breach_id: str) -> Any:
        return _printable(self.compliance.my_authority_record_document(breach_id))

    # --- sub-processors (annex IV.6) -------------------------------------------------------
    @api("GET", "/api/subprocessors", auth="any", response=page_of(SubprocessorOut),
         tags=("subprocessors",),
         summary="The sub-processors: activity, country, contract dates, status (for me)")
    def subprocessor_registry(self, req: Req) -> Any:
        return self.compliance.subprocessor_registry()

    @api("POST", "/api/compliance/subprocessors/changes", roles=COMPLIANCE,
         body=SubprocessorChangeIn, response=SubprocessorChangeOut, status=201,
         tags=("compliance",),
         summary="Announce an addition or a replacement; every controller is told in writing")
    def announce_subprocessor_change(self, req: Req) -> Any:
        b = dict(req.body)
        b["contract_start"] = b["contract_start"].isoformat()
        b["contract_end"] = b["contract_end"].isoformat() if b.get("contract_end") else None
        b["effective_from"] = b["effective_from"].isoformat()
        return self.compliance.announce_subprocessor_change(b)

    @api("GET", "/api/compliance/subprocessors/changes", roles=COMPLIANCE,
         response=page_of(SubprocessorChangeOut), tags=("compliance",),
         summary="Announced changes, with their objection counts")
    def subprocessor_changes(self, req: Req) -> Any:
        return self.compliance.subprocessor_changes()

    @api("GET", "/api/compliance/subprocessors/changes/<change_id>/objections",
         roles=COMPLIANCE, response=page_of(ObjectionSeenOut), tags=("compliance",),
         summary="Who objected to a change, and why")
    def subprocessor_objections(self, req: Req, change_id: str) -> Any:
        return self.compliance.subprocessor_objections(change_id)

    @api("POST", "/api/subprocessors/changes/<change_id>/objection", roles=CONTROLLERS,
         body=ObjectionIn, response=ObjectionOut, status=201, terms_gate=False,
         tags=("subprocessors",),
         summary="Object to a change before it takes effect: it will not apply to me")
    def object_to_subprocessor_change(self, req: Req, change_id: str) -> Any:
        return self.compliance.object_to_subprocessor_change(change_id, req.body["reason"])

    # --- the register (annex IV.14) --------------------------------------------------------
    @api("GET", "/api/compliance/register", roles=COMPLIANCE, response=RegisterOut,
         tags=("compliance",),
         summary="The register of processing activities, generated from the data maps")
    def processing_register(self, req: Req) -> Any:
        return self.compliance.processing_register()

    @api("GET", "/api/compliance/register.html", roles=COMPLIANCE, content_type="text/html",
         tags=("compliance",), summary="The same register, printable")
    def processing_register_document(self, req: Req) -> Any:
        return _printable(self.compliance.processing_register_document())

    # --- the end of contract (annex IV.12) ---------------------------------------------------
    @api("POST", "/api/compliance/controllers/<user_id>/end-of-contract", roles=COMPLIANCE,
         response=EndOfContractOut, status=202, errors=(409,), tags=("compliance",),
         summary="End a controller's contract: gather their data into an archive (JSON, CSV, "
                 "XLSX), destroyed by crypto-shredding once they confirm receipt or after "
                 "END_OF_CONTRACT_SHRED_DAYS; the same one again while under way, 409 "
                 "controller_data_destroyed once destroyed")
    def end_contract(self, req: Req, user_id: str) -> Any:
        return self.compliance.end_contract(user_id)

    @api("GET", "/api/compliance/controllers/<user_id>/end-of-contract", roles=COMPLIANCE,
         response=EndOfContractOut, tags=("compliance",),
         summary="A controller's end of contract, with the certificate once destroyed")
    def controller_end_of_contract(self, req: Req, user_id: str) -> Any:
        return self.compliance.controller_end_of_contract(user_id)

    @api("GET", "/api/compliance/controllers/<user_id>/end-of-contract/archive",
         roles=COMPLIANCE, content_type="application/zip", errors=(409, 410),
         tags=("compliance",), summary="The controller's archive (ZIP); 410 once destroyed")
    def controller_archive(self, req: Req, user_id: str) -> Any:
        return _attachment(_unless_gone(lambda: self.compliance.controller_archive(user_id),
                                        ARCHIVE_GONE))

    @api("GET", "/api/compliance/controllers/<user_id>/end-of-contract/certificate",
         roles=COMPLIANCE, response=CertificateOut, errors=(409,), tags=("compliance",),
         summary="The certificate of destruction; 409 not_destroyed_yet before")
    def controller_certificate(self, req: Req, user_id: str) -> Any:
        return self.compliance.controller_certificate(user_id)

    @api("GET", "/api/end-of-contract", roles=CONTROLLERS, response=EndOfContractOut,
         tags=("compliance",), summary="My end of contract (404 if none)")
    def my_end_of_contract(self, req: Req) -> Any:
        return self.compliance.my_end_of_contract()

    @api("GET", "/api/end-of-contract/archive", roles=CONTROLLERS,
         content_type="application/zip", errors=(409, 410), tags=("compliance",),
         summary="Download my data (ZIP: JSON, one CSV per category, one XLSX workbook)")
    def my_end_of_contract_archive(self, req: Req) -> Any:
        return _attachment(_unless_gone(self.compliance.my_end_of_contract_archive,
                                        ARCHIVE_GONE))

    @api("POST", "/api/end-of-contract/receipt", roles=CONTROLLERS, response=EndOfContractOut,
         errors=(409,), tags=("compliance",),
         summary="Confirm I received my archive: every copy of my data is then destroyed")
    def confirm_end_of_contract_receipt(self, req: Req) -> Any:
        return self.compliance.confirm_end_of_contract_receipt()
