"""The user's office (terms art. 3.A, 3.B.ii, 3.B.iv, 5, 8.A.5, 10): leads, notes, status,
edit history, the network pipeline, refund claims and the export.

Ownership, the office subscription and the admin's access are checked by leads (a lead of
someone else is a 404). The admin's view of a member's office goes through
``require_admin_view`` first (404 outside the admin's network, 403 when the member turned
admin access off), as the member office summary does.

Export: an RPC reply cannot stream, so leads builds the file (openpyxl write-only, rows
fetched and decrypted in batches) and keeps it in pieces; this route streams the pieces
to the client with a generator, one RPC and one piece (512 KiB) in memory at a time.
While one export of a user is being built, another is a 429 ``export_in_progress`` with
``Retry-After`` (leads holds one slot per user in its database).
"""
import base64
from collections.abc import Iterator
from datetime import date
from typing import Any

from nameko import config
from werkzeug.wrappers import Response

from gateway.http import Req, api
from gateway.schemas.common import PageQuery, page_args, page_of
from gateway.schemas.office import (
    BulkDeletedOut,
    BulkDeleteIn,
    ClaimDecisionIn,
    DeletedOut,
    ExportQuery,
    HistoryOut,
    LeadFilterQuery,
    LeadListQuery,
    NoteIn,
    NoteOut,
    OfficeLeadIn,
    OfficeLeadOut,
    OfficeLeadPatchIn,
    OfficeLeadSummaryOut,
    PipelineIn,
    PipelineOut,
    RefundClaimIn,
    RefundClaimOut,
    StaffClaimsQuery,
    StaffRefundClaimOut,
    StatusIn,
)
from suivi_common.rpc import ServiceRpc

MEMBER = ("user", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTERS = tuple(LeadFilterQuery._declared_fields)
# One envelope class per item schema (the OpenAPI document names schemas by class name).
LEADS_PAGE = page_of(OfficeLeadSummaryOut)
HISTORY_PAGE = page_of(HistoryOut)


class ExportRpc(ServiceRpc):
    """leads, with the time a big export takes to build (``OFFICE_EXPORT_TIMEOUT_SECONDS``,
    default 300: 100,000 leads take ~12 s) instead of the usual RPC timeout."""

    def setup(self) -> None:
        super().setup()
        self.timeout = float(config.get("OFFICE_EXPORT_TIMEOUT_SECONDS", 300))


def _filters(query: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in query.items() if k in FILTERS}


class OfficeRoutes:
    leads: Any
    accounts: Any
    require_admin_view: Any  # from MemberOfficeRoutes (GatewayService has both)
    leads_export = ExportRpc("leads", acting_for_request=True)

    # --- leads ------------------------------------------------------------------------------

    @api("POST", "/api/leads", roles=MEMBER, body=OfficeLeadIn, response=OfficeLeadOut, status=201,
         tags=("office",), summary="Enter a personal lead (same fields as a capture)")
    def create_lead(self, req: Req) -> Any:
        return self.leads.office_create_lead(req.body)

    @api("GET", "/api/leads", roles=MEMBER, query=LeadListQuery,
         response=LEADS_PAGE, tags=("office",),
         summary="My leads: filters, sort by creation date or status, cursor pages")
    def list_leads(self, req: Req) -> Any:
        cursor, limit = page_args(req.query)
        return self.leads.office_list_leads(_filters(req.query), req.query["sort"], cursor, limit)

    @api("GET", "/api/leads/export.xlsx", roles=MEMBER, query=ExportQuery, tags=("office",),
         content_type=XLSX, errors=(429,),
         summary="Export my leads' initial data and status (Excel; one export at a time)")
    def export_xlsx(self, req: Req) -> Any:
        return self._export(req, "xlsx")

    @api("GET", "/api/leads/export.csv", roles=MEMBER, query=ExportQuery, tags=("office",),
         content_type="text/csv", errors=(429,),
         summary="Export my leads' initial data and status (CSV; one export at a time)")
    def export_csv(self, req: Req) -> Any:
        return self._export(req, "csv")

    def _export(self, req: Req, fmt: str) -> Response:
        return self.export_file(_filters(req.query), fmt, req.query["lang"])

    def export_file(self, filters: dict[str, Any], fmt: str, lang: str) -> Response:
        """The export's streamed answer; the web office's export link answers it too, so
        the browser gets the very bytes of the API route."""
        leads = self.leads_export  # the worker's client, still valid while the body streams
        job = leads.office_export_start(filters, fmt, lang)

        def pieces() -> Iterator[bytes]:
            for n in range(job["chunks"]):
                yield base64.b64decode(leads.office_export_chunk(job["export_id"], n)["data"])

        return Response(pieces(), status=200, content_type=job["content_type"],
                        direct_passthrough=True, headers={
                            "Content-Disposition": f'attachment; filename="{job["filename"]}"',
                            "Content-Length": str(job["bytes"]), "Cache-Control": "no-store",
                            "X-Export-Rows": str(job["rows"])})

    @api("GET", "/api/leads/<lead_id>", roles=MEMBER, response=OfficeLeadOut, tags=("office",),
         summary="One of my leads: current data, initial data, refund status")
    def get_lead(self, req: Req, lead_id: str) -> Any:
        return self.leads.office_get_lead(lead_id)

    @api("PATCH", "/api/leads/<lead_id>", roles=MEMBER, body=OfficeLeadPatchIn, response=OfficeLeadOut,
         tags=("office",), summary="Edit a lead (every change is kept in its history)")
    def patch_lead(self, req: Req, lead_id: str) -> Any:
        return self.leads.office_update_lead(lead_id, req.body)

    @api("DELETE", "/api/leads/<lead_id>", roles=MEMBER, response=DeletedOut, tags=("office",),
         summary="Delete a lead (its personal data is destroyed)")
    def delete_lead(self, req: Req, lead_id: str) -> Any:
        return self.leads.office_delete_lead(lead_id)

    @api("POST", "/api/leads/bulk-delete", roles=MEMBER, body=BulkDeleteIn,
         response=BulkDeletedOut, tags=("office",),
         summary="Delete every lead a filter names, e.g. no activity since a date (3.B.iv)")
    def bulk_delete(self, req: Req) -> Any:
        return self.leads.office_bulk_delete(req.body["filter"])

    @api("POST", "/api/leads/<lead_id>/notes", roles=MEMBER, body=NoteIn, response=NoteOut,
         status=201, tags=("office",), summary="Note what was said on a call")
    def add_note(self, req: Req, lead_id: str) -> Any:
        return self.leads.office_add_note(lead_id, req.body["text"])

    @api("GET", "/api/leads/<lead_id>/notes", roles=MEMBER, query=PageQuery,
         response=page_of(NoteOut), tags=("office",), summary="A lead's notes, newest first")
    def list_notes(self, req: Req, lead_id: str) -> Any:
        return self.leads.office_list_notes(lead_id, *page_args(req.query))

    @api("POST", "/api/leads/<lead_id>/status", roles=MEMBER, body=StatusIn, response=OfficeLeadOut,
         tags=("office",), summary="Move a lead along the pipeline")
    def change_status(self, req: Req, lead_id: str) -> Any:
        return self.leads.office_change_status(lead_id, req.body["status"], req.body["reopen"])

    @api("GET", "/api/leads/<lead_id>/history", roles=MEMBER, query=PageQuery,
         response=HISTORY_PAGE, tags=("office",),
         summary="Every change to a lead: field, old and new value, who, when, how")
    def lead_history(self, req: Req, lead_id: str) -> Any:
        return self.leads.office_lead_history(lead_id, *page_args(req.query))

    # --- refund claims ----------------------------------------------------------------------

    @api("POST", "/api/leads/<lead_id>/refund-claims", roles=MEMBER, body=RefundClaimIn,
         response=RefundClaimOut, status=201, tags=("office",),
         summary="Claim a refund for an unusable bought lead (terms 3.B.ii)")
    def file_claim(self, req: Req, lead_id: str) -> Any:
        return self.leads.refund_claim_file(lead_id, req.body["reason"], req.body["comment"])

    @api("GET", "/api/refund-claims", roles=MEMBER, query=PageQuery,
         response=page_of(RefundClaimOut), tags=("office",),
         summary="My refund claims and their decisions")
    def my_claims(self, req: Req) -> Any:
        return self.leads.refund_claims_mine(*page_args(req.query))

    @api("GET", "/api/staff/refund-claims", roles=("staff",), query=StaffClaimsQuery,
         response=page_of(StaffRefundClaimOut), tags=("staff",),
         summary="Refund claims with their automatic checks (oldest first)")
    def staff_claims(self, req: Req) -> Any:
        return self.leads.refund_claims_staff(req.query.get("status"), *page_args(req.query))

    @api("POST", "/api/staff/refund-claims/<claim_id>/decision", roles=("staff",),
         body=ClaimDecisionIn, response=StaffRefundClaimOut, tags=("staff",),
         summary="Approve (one record credited back to the plan) or reject; final")
    def decide_claim(self, req: Req, claim_id: str) -> Any:
        return self.leads.refund_claim_decide(claim_id, req.body["approve"], req.body["comment"])

    # --- pipeline ---------------------------------------------------------------------------

    @api("GET", "/api/network/pipeline", roles=MEMBER, response=PipelineOut, tags=("network",),
         summary="My network's lead statuses: order, initial, terminal")
    def get_pipeline(self, req: Req) -> Any:
        return self.leads.office_get_pipeline()

    @api("PUT", "/api/network/pipeline", roles=("admin",), body=PipelineIn,
         response=PipelineOut, tags=("network",),
         summary="Define the pipeline; leads in removed statuses need a remap")
    def put_pipeline(self, req: Req) -> Any:
        b = req.body
        return self.leads.office_put_pipeline(b["statuses"], b["initial"], b["terminal"],
                                              b["remap"])

    # --- a member's office, seen by the admin (terms art. 5) --------------------------------

    @api("GET", "/api/network/members/<member_id>/leads", roles=("admin",),
         query=LeadListQuery, response=LEADS_PAGE, tags=("network",),
         summary="A member's leads, unless they turned admin access off")
    def member_leads(self, req: Req, member_id: str) -> Any:
        self.require_admin_view(req, member_id)
        cursor, limit = page_args(req.query)
        return self.leads.office_member_leads(member_id, _filters(req.query), req.query["sort"],
                                              cursor, limit)

    @api("GET", "/api/network/members/<member_id>/leads/<lead_id>", roles=("admin",),
         response=OfficeLeadOut, tags=("network",), summary="One lead of a member's office")
    def member_lead(self, req: Req, member_id: str, lead_id: str) -> Any:
        self.require_admin_view(req, member_id)
        return self.leads.office_member_lead(member_id, lead_id)

    @api("GET", "/api/network/members/<member_id>/leads/<lead_id>/history", roles=("admin",),
         query=PageQuery, response=HISTORY_PAGE, tags=("network",),
         summary="The edit history of one lead of a member's office")
    def member_lead_history(self, req: Req, member_id: str, lead_id: str) -> Any:
        self.require_admin_view(req, member_id)
        return self.leads.office_member_lead_history(member_id, lead_id, *page_args(req.query))
