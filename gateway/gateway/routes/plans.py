"""Plans: quotes, buying, tier changes, extensions, absences (terms art. 3.B.iii, 6), and
staff tools: force-majeure decisions, sales closures (art. 8.B), day close, forecast.

Routes only translate HTTP to the plans service's RPCs; ownership and every rule are
checked there (another user's plan or absence is a 404).
"""
import base64
from typing import Any

from werkzeug.wrappers import Response

from gateway.http import Req, api
from gateway.schemas.common import PageQuery, page_args
from gateway.schemas.plans import (
    AbsenceIn,
    AbsenceOut,
    AbsencePage,
    ClosureIn,
    ClosureOut,
    ClosurePage,
    DayCloseIn,
    DayCloseOut,
    DecisionIn,
    ExtendIn,
    ExtendQuoteIn,
    ExtensionOut,
    ExtensionQuoteOut,
    ForecastOut,
    ForecastQuery,
    PlanCreatedOut,
    PlanCreateIn,
    PlanOut,
    PlanPage,
    PlansQuery,
    QuoteIn,
    QuoteOut,
    StaffAbsencesQuery,
    TierIn,
)
from suivi_common.errors import Invalid

MEMBERS = ("user", "admin")
PROOF_MAX_BODY = 6 * 1024 * 1024  # the service enforces the file limit (5 MiB by default)
PROOF_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class PlansRoutes:
    plans: Any

    # --- buying --------------------------------------------------------------------------------

    @api("POST", "/api/plans/quote", roles=MEMBERS, body=QuoteIn, response=QuoteOut,
         tags=("plans",), summary="Price and daily quota of a 30-day plan, before buying it")
    def quote_plan(self, req: Req) -> Any:
        b = req.body
        return self.plans.quote(b["records"], b["tier"], b["country"], b["kind"])

    @api("POST", "/api/plans", roles=MEMBERS, body=PlanCreateIn, response=PlanCreatedOut,
         status=201, tags=("plans",),
         summary="Buy a plan; it starts the day its payment is validated (pay at redirect_url "
                 "for a card)")
    def create_plan(self, req: Req) -> Any:
        b = req.body
        return self.plans.create_plan(b["records"], b["tier"], b["country"], b["payment_method"],
                                      b["kind"])

    @api("GET", "/api/plans", roles=MEMBERS, query=PlansQuery, response=PlanPage,
         tags=("plans",), summary="My plans, newest first")
    def list_plans(self, req: Req) -> Any:
        q = req.query
        return self.plans.list_plans(q.get("cursor"), q["limit"], q.get("status"))

    @api("GET", "/api/plans/<plan_id>", roles=(*MEMBERS, "staff"), response=PlanOut,
         tags=("plans",), summary="One plan: quota, dates, and what was taken today")
    def get_plan(self, req: Req, plan_id: str) -> Any:
        return self.plans.get_plan(plan_id)

    @api("POST", "/api/plans/<plan_id>/tier", roles=MEMBERS, body=TierIn, response=PlanOut,
         tags=("plans",), summary="Change the plan's tier (once per day), keeping its value")
    def change_tier(self, req: Req, plan_id: str) -> Any:
        return self.plans.change_tier(plan_id, req.body["tier"])

    @api("POST", "/api/plans/<plan_id>/extend/quote", roles=MEMBERS, body=ExtendQuoteIn,
         response=ExtensionQuoteOut, tags=("plans",),
         summary="Price of extending a plan (its credit deducted)")
    def quote_extension(self, req: Req, plan_id: str) -> Any:
        return self.plans.quote_extension(plan_id, req.body["records"])

    @api("POST", "/api/plans/<plan_id>/extend", roles=MEMBERS, body=ExtendIn,
         response=ExtensionOut, status=201, tags=("plans",),
         summary="Extend a plan: more leads, 30 days again from the day it is paid")
    def extend_plan(self, req: Req, plan_id: str) -> Any:
        return self.plans.extend_plan(plan_id, req.body["records"], req.body["payment_method"])

    @api("POST", "/api/plans/<plan_id>/cancel", roles=MEMBERS, response=PlanOut,
         tags=("plans",),
         summary="Withdraw: an unpaid order, or a paid one within 7 days if nothing was "
                 "delivered (refunded)")
    def cancel_plan(self, req: Req, plan_id: str) -> Any:
        return self.plans.cancel_plan(plan_id)

    # --- absences ------------------------------------------------------------------------------

    @api("POST", "/api/absences", roles=MEMBERS, body=AbsenceIn, response=AbsenceOut,
         status=201, tags=("absences",),
         summary="Plan an absence (all my active plans), or declare a force majeure for a plan")
    def request_absence(self, req: Req) -> Any:
        b = req.body
        return self.plans.request_absence(
            b["start_date"].isoformat(), b["end_date"].isoformat(), b["force_majeure"],
            b.get("reason"), b.get("details"), b.get("plan_id"))

    @api("GET", "/api/absences", roles=MEMBERS, query=PageQuery, response=AbsencePage,
         tags=("absences",), summary="My absences")
    def list_absences(self, req: Req) -> Any:
        return self.plans.list_absences(*page_args(req.query))

    @api("POST", "/api/absences/<absence_id>/proof", roles=MEMBERS, raw_body=True,
         max_body=PROOF_MAX_BODY, content_type="multipart/form-data", response=AbsenceOut,
         tags=("absences",),
         summary="Attach a proof (PDF, JPEG or PNG, multipart field 'file') to a force majeure")
    def upload_proof(self, req: Req, absence_id: str) -> Any:
        files = list(req.http.files.values())
        if len(files) != 1:
            raise Invalid("Send exactly one file as multipart/form-data",
                          fields={"file": "exactly one file is required"}, code="proof_missing")
        data = files[0].read()
        return self.plans.upload_proof(absence_id, base64.b64encode(data).decode())

    # --- staff ---------------------------------------------------------------------------------

    @api("GET", "/api/staff/absences", roles=("staff",), query=StaffAbsencesQuery,
         response=AbsencePage, tags=("staff",),
         summary="Force-majeure claims to decide (status=pending by default)")
    def staff_list_absences(self, req: Req) -> Any:
        q = req.query
        return self.plans.staff_list_absences(q["status"], q.get("cursor"), q["limit"])

    @api("GET", "/api/staff/absences/<absence_id>/proof", roles=("staff",), tags=("staff",),
         summary="Download the proof of a force-majeure claim")
    def staff_get_proof(self, req: Req, absence_id: str) -> Any:
        proof = self.plans.get_proof(absence_id)
        ext = PROOF_EXTENSIONS.get(proof["mime"], "bin")
        return Response(base64.b64decode(proof["content_b64"]), mimetype=proof["mime"], headers={
            "Content-Disposition": f'attachment; filename="proof-{absence_id}.{ext}"',
            "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    @api("POST", "/api/staff/absences/<absence_id>/decision", roles=("staff",), body=DecisionIn,
         response=AbsenceOut, tags=("staff",),
         summary="Approve (the plan's end moves back, forfeits return) or reject with a comment")
    def decide_absence(self, req: Req, absence_id: str) -> Any:
        return self.plans.decide_absence(absence_id, req.body["approve"], req.body.get("comment"))

    @api("POST", "/api/staff/sales-closures", roles=("staff",), body=ClosureIn,
         response=ClosureOut, status=201, tags=("staff",),
         summary="Close sales for some days (optionally some countries and tiers); concerned "
                 "plans are lengthened")
    def declare_sales_closure(self, req: Req) -> Any:
        b = req.body
        return self.plans.declare_sales_closure(
            b["start_date"].isoformat(), b["end_date"].isoformat(), b.get("countries"),
            b.get("tiers"), b["reason"])

    @api("GET", "/api/staff/sales-closures", roles=("staff",), query=PageQuery,
         response=ClosurePage, tags=("staff",), summary="Sales closures, newest first")
    def list_sales_closures(self, req: Req) -> Any:
        return self.plans.list_sales_closures(*page_args(req.query))

    @api("POST", "/api/staff/day-close", roles=("staff",), body=DayCloseIn, response=DayCloseOut,
         tags=("staff",),
         summary="Close a past day's books now (and any earlier open day); idempotent")
    def close_day(self, req: Req) -> Any:
        return self.plans.close_day(req.body["date"].isoformat())

    @api("GET", "/api/staff/forecast", roles=("staff",), query=ForecastQuery,
         response=ForecastOut, tags=("staff",),
         summary="Expected lead demand per day, country and tier for the next days")
    def forecast(self, req: Req) -> Any:
        return self.plans.forecast(req.query["days"])
