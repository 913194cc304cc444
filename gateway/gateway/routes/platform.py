"""Health, the OpenAPI document and the dev clock."""
import time
from datetime import UTC, datetime
from typing import Any

import eventlet
from nameko.events import BROADCAST, event_handler

from gateway.auth import evict_network, evict_token, evict_user
from gateway.http import Req, api, json_response, schema
from gateway.schemas.platform import ClockIn, ClockOut, HealthOut
from suivi_common import SERVICES, clock, devclock
from suivi_common.errors import NotFound
from suivi_common.service_base import from_gateway
from suivi_common.settings import is_dev


class PlatformRoutes:
    dispatch: Any
    principal: Any

    def _health_of_all(self, timeout: float = 3.0) -> dict[str, dict[str, Any]]:
        """Ask every service at once; one deadline for all, so a dead one costs ``timeout``."""
        calls: dict[str, Any] = {}
        report: dict[str, dict[str, Any]] = {}
        for name in SERVICES:
            try:
                calls[name] = getattr(self, name).health.call_async()
            except Exception as exc:  # UnknownService: no instance has ever bound its queue
                report[name] = {"status": "down", "error": type(exc).__name__}
        deadline = time.monotonic() + timeout
        for name, call in calls.items():
            try:
                with eventlet.Timeout(max(0.01, deadline - time.monotonic())):
                    report[name] = call.result()
            except (Exception, eventlet.Timeout) as exc:
                report[name] = {"status": "down", "error": type(exc).__name__}
        return {name: report[name] for name in SERVICES}

    @api("GET", "/health", auth=None, response=HealthOut, tags=("platform",),
         summary="Health of the gateway and every service")
    def health(self, req: Req) -> Any:
        services = self._health_of_all()
        ok = all(s.get("status") == "ok" for s in services.values())
        body = {"status": "ok" if ok else "degraded", "services": services}
        return body if ok else json_response(schema(HealthOut).dump(body), 503)

    @api("GET", "/openapi.json", auth=None, tags=("platform",), summary="This document")
    def openapi(self, req: Req) -> Any:
        from gateway.openapi import build

        return build()

    def _set_offset(self, offset: float) -> Any:
        if not is_dev():  # the route does not exist outside dev; never move the clock there
            raise NotFound("No such route", code="route_not_found")
        clock.set_offset(offset)
        devclock.persist(offset)
        self.dispatch("clock_set", {"offset_seconds": offset})
        confirmed: list[str] = []
        deadline = eventlet.Timeout(5, False)
        with deadline:
            while len(confirmed) < len(SERVICES):
                health = self._health_of_all(timeout=2.0)
                confirmed = [n for n, h in health.items()
                             if abs(float(h.get("clock_offset_seconds", 1e18)) - offset) < 1.0]
                if len(confirmed) < len(SERVICES):
                    eventlet.sleep(0.05)
        return {"now": clock.now().isoformat(), "offset_seconds": offset, "confirmed": confirmed}

    @api("POST", "/api/dev/clock", auth=None, body=ClockIn, response=ClockOut, tags=("dev",),
         dev_only=True, summary="Dev only: set the platform clock for every service")
    def set_clock(self, req: Req) -> Any:
        instant: datetime = req.body["now"]
        offset = (instant - datetime.now(UTC)).total_seconds()
        return self._set_offset(offset)

    @api("DELETE", "/api/dev/clock", auth=None, response=ClockOut, tags=("dev",),
         dev_only=True, summary="Dev only: reset the platform clock")
    def reset_clock(self, req: Req) -> Any:
        return self._set_offset(0.0)

    @event_handler("gateway", "clock_set", handler_type=BROADCAST, reliable_delivery=False)
    def on_clock_set(self, payload: dict[str, Any]) -> None:
        if from_gateway(self.principal):
            devclock.apply(payload)

    @event_handler("gateway", "token_revoked", handler_type=BROADCAST, reliable_delivery=False)
    def on_token_revoked(self, payload: dict[str, Any]) -> None:
        evict_token(payload.get("token_key", ""))

    @event_handler("gateway", "principal_changed", handler_type=BROADCAST, reliable_delivery=False)
    def on_principal_changed(self, payload: dict[str, Any]) -> None:
        evict_user(payload.get("user_id", ""))

    @event_handler("gateway", "access_levels_changed", handler_type=BROADCAST,
                   reliable_delivery=False)
    def on_access_levels_changed(self, payload: dict[str, Any]) -> None:
        evict_network(payload.get("network_id", ""))
