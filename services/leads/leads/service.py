"""Leads service, part 1: capture, grading, stock, exclusive and fair distribution.

Entrypoints of one or two lines: who may call, then one use case of ``leads.usecases``
(``capture``, ``stock``, ``distribution``: takes, auto-delivery, re-keying; ``daybook``:
day totals and the day close; ``entitlements``: read models); the rules are in
``leads.domain``. The office's entrypoints are the ``OfficeEntrypoints`` mixin, compliance's
contracts (data-subject tasks, breaches, the register, retention) ``ComplianceEntrypoints``. Every
entrypoint is safe to run on any number of instances at once (see
``usecases.distribution``'s docstring).
``@rpc_internal`` entrypoints answer other services only; the timers that run the same
work act as leads itself.
"""
import suivi_common  # noqa: F401, I001  (first: green psycopg, before anything imports psycopg)

from typing import Any

from nameko.extensions import DependencyProvider
from suivi_common import clock
from suivi_common.auth import require
from suivi_common.consumer import forwarding_handler, reliable_handler
from suivi_common.database import Database
from suivi_common.permissions import TAKE_LEADS, require_permission
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import StatCounting, rpc_api, rpc_internal, rpc_query

from leads.usecases import capture, daybook, distribution, entitlements, stats, stock
from leads.amqp import capture_consumer, config_timer
from leads.office_entrypoints import OfficeEntrypoints
from leads.compliance_entrypoints import ComplianceEntrypoints
from leads.rotation_entrypoints import KeyRotationEntrypoints
from leads.models import common
from leads.usecases.context import Ctx


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


class LeadsService(OfficeEntrypoints, ComplianceEntrypoints, KeyRotationEntrypoints,
                   StatCounting):
    name = "leads"

    db = Database(common)
    context = WorkerContext()
    sync_state = SyncState()
    # as leads (its signed service principal), with RPC_TIMEOUT_SECONDS (5 s); the office
    # mixin's ``accounts`` client answers office_active and admin_can_view
    plans = ServiceRpc("plans")

    @property
    def ctx(self) -> Ctx:
        return Ctx.from_db(self.db, self.principal, self.context, self._require_office_open)

    # --- statistics (admin tool 3) ----------------------------------------------------------

    count_stats = staticmethod(stats.stat_counts)  # StatCounting.stat_counts

    # --- capture -----------------------------------------------------------------------------

    @rpc_query
    def check_capture_key(self, capture_key: str, client_ip: str | None = None) -> None:
        """Lets the gateway refuse a wrong key, or one over its rate, before it reads the
        upload."""
        capture.check_key(self.db.session, self.db.vault, capture_key, client_ip, clock.now())

    @rpc_api
    def capture(self, capture_key: str, leads: list[Any],
                client_ip: str | None = None) -> dict[str, Any]:
        """HTTP capture (via the gateway): ``{results: [...]}``, one per item, in order."""
        return capture.capture_request(self.db.session, self.db.vault, self.db.emit, capture_key,
                                      leads, clock.now(), client_ip, self.db.autonomous)

    @capture_consumer()
    def capture_from_queue(self, body: Any, capture_key: Any, message_id: str) -> None:
        capture.capture_message(self.db.session, self.db.vault, self.db.emit, body, capture_key,
                               message_id, clock.now())

    @rpc_api
    def create_capture_site(self, name: str, url: str, kind: str | None = None) -> dict[str, Any]:
        require(self.principal, "staff")
        return capture.create_site(self.db.session, name, url, clock.now(), kind)

    @rpc_api
    def list_capture_sites(self) -> list[dict[str, Any]]:
        require(self.principal, "staff")
        return capture.list_sites(self.db.session)

    @rpc_api
    def revoke_capture_site(self, site_id: str) -> dict[str, Any]:
        require(self.principal, "staff")
        return capture.revoke_site(self.db.session, site_id, clock.now())

    # --- stock ----------------------------------------------------------------------------------

    @rpc_api
    def stock_levels(self) -> dict[str, Any]:
        require(self.principal, "staff")
        return {"items": stock.stock_levels(self.db.session, clock.now(), clock.today())}

    @rpc_api
    def stock_alerts(self, date: str | None = None, cursor: str | None = None,
                     limit: int | None = None) -> dict[str, Any]:
        require(self.principal, "staff")
        return stock.list_alerts(self.db.session, date, cursor, limit)

    @rpc_internal
    def check_stock(self) -> dict[str, Any]:
        """Withdraw stale leads and raise shortage alerts (the timer; other services)."""
        return stock.check(self.db.session, clock.now(), clock.today(), self.db.emit)

    @config_timer("STOCK_CHECK_INTERVAL_SECONDS")
    def stock_tick(self) -> None:
        self.check_stock()

    # --- distribution -----------------------------------------------------------------------------

    @rpc_api
    def take(self, plan_id: str, limit: int | None = None) -> dict[str, Any]:
        principal = require_permission(require(self.principal, "user", "admin"), TAKE_LEADS)
        return distribution.take(self.ctx, principal.user_id, plan_id, limit)

    @rpc_api
    def set_auto_delivery(self, plan_id: str, enabled: bool) -> dict[str, Any]:
        principal = require(self.principal, "user", "admin")
        if enabled:  # leads delivered automatically are leads taken
            require_permission(principal, TAKE_LEADS)
        return distribution.set_auto_delivery(self.ctx, principal.user_id, plan_id, enabled)

    @rpc_internal
    def run_auto_delivery(self, country: str | None = None, tier: str | None = None,
                          kind: str | None = None) -> dict[str, Any]:
        """One fair run over every group (or one), each group in its own transaction."""
        return distribution.run_auto_delivery(self.ctx, country, tier, kind)

    @config_timer("AUTO_DELIVERY_INTERVAL_SECONDS")
    def auto_delivery_tick(self) -> None:
        self.run_auto_delivery()

    @reliable_handler("leads", "auto_delivery_due")
    def on_auto_delivery_due(self, payload: dict[str, Any]) -> None:
        """Stock arrived (or a plan switched auto-delivery on): serve that group now."""
        distribution.deliver_due(self.ctx, payload)

    @config_timer("REKEY_INTERVAL_SECONDS")
    def rekey_tick(self) -> None:
        self.rekey()

    @rpc_internal
    def rekey(self) -> dict[str, Any]:
        """Move auto-delivered leads to their buyer's key, in batches."""
        return distribution.rekey_all(self.ctx)

    @rpc_api
    def plan_today(self, plan_id: str) -> dict[str, Any]:
        """Today's live totals of a plan: for services, staff and the plan's owner."""
        return distribution.plan_today(self.ctx, plan_id)

    @rpc_internal
    def close_books(self, date: str, plan_ids: list[str]) -> dict[str, Any]:
        """Plans' day close: freeze taken/shortfall per plan for ``date`` (idempotent)."""
        return daybook.close_books(self.db.session, date, plan_ids, self.db.emit)

    @config_timer("DAY_CLOSE_INTERVAL_SECONDS")
    def close_yesterday(self) -> None:
        daybook.close_yesterday(self.db.session, self.db.emit)

    # --- read models --------------------------------------------------------------------------

    def _apply_snapshot(self, source: str, event_type: str, payload: dict[str, Any]) -> None:
        """Every plan event carries the plan's whole entitlement snapshot: applied alike."""
        entitlements.apply_snapshot(self.db.session, payload, clock.now())

    on_plan_activated = forwarding_handler("plans", "plan_activated", _apply_snapshot)
    on_plan_changed = forwarding_handler("plans", "plan_changed", _apply_snapshot)
    on_plan_completed = forwarding_handler("plans", "plan_completed", _apply_snapshot)
    on_plan_cancelled = forwarding_handler("plans", "plan_cancelled", _apply_snapshot)

    @config_timer("ENTITLEMENT_SYNC_RETRY_SECONDS", eager=True)
    def sync_entitlements(self) -> None:
        """Start-up re-sync from plans; retried in the background until plans answers."""
        entitlements.resync(self.db.session, self.plans, self.sync_state, clock.now())

    @reliable_handler("accounts", "subscription_activated")
    def on_subscription_activated(self, payload: dict[str, Any]) -> None:
        entitlements.subscription_activated(self.db.session, payload, clock.now())

    @reliable_handler("accounts", "subscription_ended")
    def on_subscription_ended(self, payload: dict[str, Any]) -> None:
        entitlements.subscription_ended(self.db.session, payload, clock.now())

    @reliable_handler("accounts", "member_permissions_changed")
    def on_member_permissions_changed(self, payload: dict[str, Any]) -> None:
        distribution.member_permissions_changed(self.ctx, payload)
