"""Leads: capture (by capture-site key), capture sites, stock, takes, auto-delivery
(terms art. 3.B)."""
from typing import Any

from werkzeug.wrappers import Request

from gateway.http import Req, api
from gateway.schemas.common import page_of
from gateway.schemas.leads import (
    AutoDeliveryIn,
    AutoDeliveryOut,
    CaptureIn,
    CaptureOut,
    CaptureSiteCreatedOut,
    CaptureSiteIn,
    CaptureSiteOut,
    StockAlertOut,
    StockAlertsQuery,
    StockOut,
    TakeIn,
    TakeOut,
)
from suivi_common.errors import Unauthorized

# 1,000 leads of a few hundred bytes each, with room for verbose senders.
CAPTURE_MAX_BODY = 8 * 1024 * 1024


def capture_key(request: Request) -> str:
    key = request.headers.get("X-Capture-Key", "").strip()
    if not key:
        raise Unauthorized("The X-Capture-Key header is required", code="capture_key_missing")
    return key


def check_capture_key(routes: Any, request: Request) -> None:
    """Before the body is read: a wrong key, or a site or address over its rate (429),
    costs one small RPC, never 8 MiB of upload."""
    routes.leads.check_capture_key(capture_key(request), Req(request, None, {}, None, None).ip)


class LeadsRoutes:
    leads: Any

    @api("POST", "/api/capture/leads", auth=None, body=CaptureIn, response=CaptureOut,
         max_body=CAPTURE_MAX_BODY, tags=("capture",), before_body=check_capture_key,
         errors=(401, 429),
         summary="Capture sites post up to 1,000 leads (header X-Capture-Key; rate-limited)")
    def capture_leads(self, req: Req) -> Any:
        return self.leads.capture(capture_key(req.http), req.body["leads"], req.ip)

    @api("POST", "/api/staff/capture-sites", roles=("staff",), body=CaptureSiteIn,
         response=CaptureSiteCreatedOut, status=201, tags=("staff",),
         summary="Register a capture site; its key is shown once")
    def create_capture_site(self, req: Req) -> Any:
        return self.leads.create_capture_site(req.body["name"], req.body["url"],
                                              req.body["kind"])

    @api("GET", "/api/staff/capture-sites", roles=("staff",), response=CaptureSiteOut,
         many=True, tags=("staff",), summary="Capture sites (keys are never shown again)")
    def list_capture_sites(self, req: Req) -> Any:
        return self.leads.list_capture_sites()

    @api("POST", "/api/staff/capture-sites/<site_id>/revoke", roles=("staff",),
         response=CaptureSiteOut, tags=("staff",), summary="Revoke a capture site's key")
    def revoke_capture_site(self, req: Req, site_id: str) -> Any:
        return self.leads.revoke_capture_site(site_id)

    @api("GET", "/api/staff/stock", roles=("staff",), response=StockOut, tags=("staff",),
         summary="Stock per country x tier: available, oldest age, today's demand")
    def stock(self, req: Req) -> Any:
        return self.leads.stock_levels()

    @api("GET", "/api/staff/stock/alerts", roles=("staff",), query=StockAlertsQuery,
         response=page_of(StockAlertOut), tags=("staff",),
         summary="Shortage alerts (demand above stock), one per country x tier and day")
    def stock_alerts(self, req: Req) -> Any:
        day, q = req.query.get("date"), req.query
        return self.leads.stock_alerts(day.isoformat() if day else None, q.get("cursor"),
                                       q["limit"])

    @api("POST", "/api/plans/<plan_id>/take", roles=("user", "admin"), body=TakeIn,
         response=TakeOut, tags=("plans",),
         summary="Take up to the rest of today's quota (oldest fresh leads first)")
    def take_leads(self, req: Req, plan_id: str) -> Any:
        return self.leads.take(plan_id, req.body.get("max"))

    @api("PUT", "/api/plans/<plan_id>/auto-delivery", roles=("user", "admin"),
         body=AutoDeliveryIn, response=AutoDeliveryOut, tags=("plans",),
         summary="Receive the plan's leads automatically as stock arrives")
    def set_auto_delivery(self, req: Req, plan_id: str) -> Any:
        return self.leads.set_auto_delivery(plan_id, req.body["enabled"])
