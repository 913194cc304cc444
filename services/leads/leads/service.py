"""Leads service, part 1: capture, grading, stock, exclusive and fair distribution.

Thin entrypoints; the rules live in ``leads.domain`` and the storage work in
``intake`` (capture), ``distribution`` (take, auto-delivery, day close), ``stock``
(levels, alerts, freshness) and ``entitlements`` (read models). Every entrypoint is safe
to run on any number of instances at once (see ``distribution``'s docstring).
``@rpc_internal`` entrypoints answer other services only; the timers that run the same
work act as leads itself.
"""
import suivi_common  # noqa: F401, I001  (first: green psycopg, before anything imports psycopg)

import logging
from datetime import date
from typing import Any

import eventlet
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.extensions import DependencyProvider
from sqlalchemy import select, update
from suivi_common import clock
from suivi_common.auth import require
from suivi_common.consumer import reliable_handler
from suivi_common.crypto import Vault
from suivi_common.database import Database
from suivi_common.errors import Invalid, NotFound, ServiceUnavailable, Unauthorized
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import PlatformService, rpc_api, rpc_internal, rpc_query

from leads import distribution, entitlements, intake, settings, stock
from leads.amqp import capture_consumer, config_timer
from leads.office.entrypoints import OfficeEntrypoints
from leads.models import capture_sites, common
from leads.models import entitlements as entitlements_table

log = logging.getLogger(__name__)

INTERNAL_ROLES = ("staff", "service")
#: What a call to a service that is down, silent or unreachable raises.
UNAVAILABLE = (UnknownService, RpcTimeout, ServiceUnavailable)


class WorkerContext(DependencyProvider):
    """The worker's context data (principal, correlation id), for set-based event rows."""

    def get_dependency(self, worker_ctx: Any) -> dict[str, Any]:
        return worker_ctx.data


class SyncState(DependencyProvider):
    """Per-instance memory of whether the start-up entitlement re-sync succeeded."""

    def setup(self) -> None:
        self.done = False

    def get_dependency(self, worker_ctx: Any) -> "SyncState":
        return self


def _parse_day(value: Any, field: str = "date") -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise Invalid("Invalid date", fields={field: "expected YYYY-MM-DD"}) from None


class LeadsService(OfficeEntrypoints, PlatformService):
    name = "leads"

    db = Database(common)
    context = WorkerContext()
    sync_state = SyncState()
    # as leads (its signed service principal), with RPC_TIMEOUT_SECONDS (5 s); the office
    # mixin's ``accounts`` client answers office_active and admin_can_view
    plans = ServiceRpc("plans")

    # --- capture -----------------------------------------------------------------------------

    @rpc_query
    def check_capture_key(self, capture_key: str) -> None:
        """Lets the gateway refuse a wrong key before it reads the upload."""
        if intake.site_for_key(self.db.session, capture_key) is None:
            raise Unauthorized("Unknown or revoked capture key", code="capture_key_invalid")

    @rpc_api
    def capture(self, capture_key: str, leads: list[Any]) -> dict[str, Any]:
        """HTTP capture (via the gateway): ``{results: [...]}``, one per item, in order."""
        site_id = intake.site_for_key(self.db.session, capture_key)
        if site_id is None:
            raise Unauthorized("Unknown or revoked capture key", code="capture_key_invalid")
        if not isinstance(leads, list):
            raise Invalid("leads must be a list", fields={"leads": "must be a list"})
        limit = settings.get_int("CAPTURE_BATCH_MAX")
        if len(leads) > limit:
            raise Invalid(f"At most {limit} leads per batch",
                          fields={"leads": f"at most {limit} items"})
        return {"results": self._capture(site_id, leads)}

    @capture_consumer()
    def capture_from_queue(self, body: Any, capture_key: Any, message_id: str) -> None:
        site_id = intake.site_for_key(self.db.session, capture_key)
        if site_id is None:
            log.warning("capture message %s dropped: unknown or revoked capture key", message_id)
            return
        items = body.get("leads") if isinstance(body, dict) and "leads" in body else body
        items = items if isinstance(items, list) else [items]
        self._capture(site_id, items)

    def _capture(self, site_id: Any, items: list[Any]) -> list[dict[str, Any]]:
        outcome = intake.capture_batch(self.db.session, self.db.vault, site_id, items, clock.now())
        for (country, tier), count in sorted(outcome.stocked.items()):
            self.db.emit("auto_delivery_due", {"country": country, "tier": tier, "added": count})
        log.info("captured %s", outcome.counts)
        return outcome.results

    @rpc_api
    def create_capture_site(self, name: str, url: str) -> dict[str, Any]:
        require(self.principal, "staff")
        return intake.create_site(self.db.session, name, url, clock.now())

    @rpc_api
    def list_capture_sites(self) -> list[dict[str, Any]]:
        require(self.principal, "staff")
        rows = self.db.session.execute(select(capture_sites).order_by(capture_sites.c.created_at))
        return [intake.site_out(r.id, r.name, r.url, r.key_prefix, r.created_at, r.revoked_at)
                for r in rows]

    @rpc_api
    def revoke_capture_site(self, site_id: str) -> dict[str, Any]:
        require(self.principal, "staff")
        import uuid

        try:
            sid = uuid.UUID(str(site_id))
        except ValueError:
            raise NotFound("No such capture site") from None
        row = self.db.session.execute(
            update(capture_sites).where(capture_sites.c.id == sid)
            .values(revoked_at=clock.now()).returning(capture_sites)).first()
        if row is None:
            raise NotFound("No such capture site")
        return intake.site_out(row.id, row.name, row.url, row.key_prefix, row.created_at,
                               row.revoked_at)

    # --- stock ----------------------------------------------------------------------------------

    @rpc_api
    def stock_levels(self) -> dict[str, Any]:
        require(self.principal, "staff")
        return {"items": stock.stock_levels(self.db.session, clock.now(), clock.today())}

    @rpc_api
    def stock_alerts(self, date: str | None = None) -> dict[str, Any]:
        require(self.principal, "staff")
        day = _parse_day(date) if date else None
        return {"items": stock.list_alerts(self.db.session, day), "next_cursor": None}

    @rpc_internal
    def check_stock(self) -> dict[str, Any]:
        """Withdraw stale leads and raise shortage alerts (the timer; other services)."""
        session, now, today = self.db.session, clock.now(), clock.today()
        withdrawn = stock.withdraw_stale(session, now)
        alerts = stock.raise_alerts(session, stock.stock_levels(session, now, today), today, now,
                                    self.db.emit)
        return {"withdrawn": withdrawn, "alerts": alerts}

    @config_timer("STOCK_CHECK_INTERVAL_SECONDS")
    def stock_tick(self) -> None:
        self.check_stock()

    # --- distribution -----------------------------------------------------------------------------

    @rpc_api
    def take(self, plan_id: str, limit: int | None = None) -> dict[str, Any]:
        principal = require(self.principal, "user", "admin")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise Invalid("max must be a positive integer", fields={"max": "at least 1"})
        taker = distribution.Taker(principal.user_id, self.context)
        result = distribution.take(self.db.session, self.db.vault, str(plan_id)[:64], taker,
                                   limit, self._require_office_open)
        self.db.emitted += len(result["leads"])  # set-based events: wake the relay
        return result

    @rpc_api
    def set_auto_delivery(self, plan_id: str, enabled: bool) -> dict[str, Any]:
        principal = require(self.principal, "user", "admin")
        if not isinstance(enabled, bool):
            raise Invalid("enabled must be a boolean", fields={"enabled": "must be a boolean"})
        t = entitlements_table
        row = self.db.session.execute(
            update(t).where(t.c.plan_id == str(plan_id)[:64], t.c.user_id == principal.user_id)
            .values(auto_delivery_override=enabled, updated_at=clock.now())
            .returning(t.c.plan_id, t.c.user_id, t.c.country, t.c.tier)).first()
        if row is None:
            raise NotFound("No such plan")
        self.db.emit("auto_delivery_changed", {"plan_id": row.plan_id, "user_id": row.user_id,
                                               "enabled": enabled})
        if enabled:
            self.db.emit("auto_delivery_due", {"country": row.country, "tier": row.tier,
                                               "added": 0})
        return {"plan_id": row.plan_id, "auto_delivery": enabled}

    @rpc_internal
    def run_auto_delivery(self, country: str | None = None,
                          tier: str | None = None) -> dict[str, Any]:
        """One fair run over every group (or one), each group in its own transaction."""
        started = clock.now()
        if country and tier:
            groups = [(country.upper(), tier)]
        else:
            with self.db.autonomous() as session:
                groups = distribution.groups_with_need(session, clock.today())
        runs = []
        for c, t in groups:
            with self.db.autonomous() as session:  # one group, one transaction
                runs.append(distribution.deliver_group(session, c, t, self._trace()))
        self.db.emitted += sum(r.delivered for r in runs)  # wakes the outbox relay
        return {"groups": len(groups), "skipped": sum(r.skipped for r in runs),
                "delivered": sum(r.delivered for r in runs),
                "seconds": (clock.now() - started).total_seconds(),
                "runs": [vars(r) for r in runs]}

    def _trace(self) -> dict[str, Any]:
        """A run serves many owners: its events carry the correlation id, not whoever
        happened to trigger it."""
        return {k: v for k, v in self.context.items() if k == "correlation_id"}

    @config_timer("AUTO_DELIVERY_INTERVAL_SECONDS")
    def auto_delivery_tick(self) -> None:
        self.run_auto_delivery()

    @reliable_handler("leads", "auto_delivery_due")
    def on_auto_delivery_due(self, payload: dict[str, Any]) -> None:
        """Stock arrived (or a plan switched auto-delivery on): serve that group now."""
        run = distribution.deliver_group(self.db.session, payload["country"], payload["tier"],
                                         self._trace())
        self.db.emitted += run.delivered

    @config_timer("REKEY_INTERVAL_SECONDS")
    def rekey_tick(self) -> None:
        self.rekey()

    @rpc_internal
    def rekey(self) -> dict[str, Any]:
        """Move auto-delivered leads to their buyer's key, a batch per transaction, until
        none is left (instances share the work through SKIP LOCKED)."""
        batch = settings.get_int("REKEY_BATCH")
        total = 0
        while True:
            with self.db.autonomous() as session:
                done = distribution.rekey_pending(session, Vault(self.db.keyring, session),
                                                  batch, clock.now())
            total += done
            if done < batch:
                return {"rekeyed": total}
            eventlet.sleep(0)

    @rpc_api
    def plan_today(self, plan_id: str) -> dict[str, Any]:
        """Today's live ``{plan_id, date, taken, shortfall}`` (plans uses it before a tier
        change or an extension); for services, staff and the plan's owner."""
        principal = require(self.principal)
        plan_id = str(plan_id)[:64]
        if principal.role not in INTERNAL_ROLES:
            owner = self.db.session.execute(
                select(entitlements_table.c.user_id)
                .where(entitlements_table.c.plan_id == plan_id)).scalar()
            if owner != principal.user_id:
                raise NotFound("No such plan")
        return distribution.plan_today(self.db.session, plan_id)

    @rpc_internal
    def close_books(self, date: str, plan_ids: list[str]) -> dict[str, Any]:
        """Plans' day close: freeze taken/shortfall per plan for ``date`` (idempotent)."""
        day = _parse_day(date)
        if not isinstance(plan_ids, list):
            raise Invalid("plan_ids must be a list", fields={"plan_ids": "must be a list"})
        items = distribution.close_books(self.db.session, day, plan_ids, self.db.emit)
        return {"date": day.isoformat(), "items": items}

    @config_timer("DAY_CLOSE_INTERVAL_SECONDS")
    def close_yesterday(self) -> None:
        day = distribution.yesterday()
        plan_ids = distribution.plans_to_close(self.db.session, day)
        if plan_ids:
            distribution.close_books(self.db.session, day, plan_ids, self.db.emit)

    # --- read models --------------------------------------------------------------------------

    def _apply(self, payload: dict[str, Any]) -> None:
        entitlements.apply_snapshot(self.db.session, payload, clock.now())

    @reliable_handler("plans", "plan_activated")
    def on_plan_activated(self, payload: dict[str, Any]) -> None:
        self._apply(payload)

    @reliable_handler("plans", "plan_changed")
    def on_plan_changed(self, payload: dict[str, Any]) -> None:
        self._apply(payload)

    @reliable_handler("plans", "plan_completed")
    def on_plan_completed(self, payload: dict[str, Any]) -> None:
        self._apply(payload)

    @reliable_handler("plans", "plan_cancelled")
    def on_plan_cancelled(self, payload: dict[str, Any]) -> None:
        self._apply(payload)

    @config_timer("ENTITLEMENT_SYNC_RETRY_SECONDS", eager=True)
    def sync_entitlements(self) -> None:
        """Start-up re-sync from plans; retried in the background until plans answers."""
        if self.sync_state.done:
            return
        try:
            snapshots = self.plans.active_entitlements()
        except UNAVAILABLE as exc:
            log.info("entitlement re-sync postponed: plans unavailable (%r)", exc)
            return
        if isinstance(snapshots, dict):
            snapshots = snapshots.get("items", [])
        applied = sum(entitlements.apply_snapshot(self.db.session, s, clock.now())
                      for s in snapshots)
        self.sync_state.done = True
        log.info("entitlements re-synced: %d snapshots, %d newer than held", len(snapshots),
                 applied)

    @reliable_handler("accounts", "subscription_activated")
    def on_subscription_activated(self, payload: dict[str, Any]) -> None:
        entitlements.record_office(self.db.session, str(payload["user_id"]), True, clock.now(),
                                   _opt_str(payload.get("subscription_id")))

    @reliable_handler("accounts", "subscription_ended")
    def on_subscription_ended(self, payload: dict[str, Any]) -> None:
        """``office_active`` says whether another subscription keeps the office open."""
        entitlements.record_office(self.db.session, str(payload["user_id"]),
                                   bool(payload.get("office_active", False)), clock.now(),
                                   _opt_str(payload.get("subscription_id")))


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
