"""Plans service: 30-day lead plans, their price, quotas and whole life (terms art. 3.B.iii,
6, 8.B). It owns entitlement (what each plan is owed each day); leads owns stock and
allocation, and the two agree through events and RPC (ARCHITECTURE.md, "Plans <-> leads
protocol").

Entry points are thin: each builds a ``Ctx`` and calls one use case in
``plans.usecases``; the rules themselves are in ``plans.domain``.
"""
import suivi_common  # noqa: F401, I001  (first: green psycopg, before anything imports psycopg)

import logging
from typing import Any

from suivi_common.rpc import ServiceRpc

from plans.context import Ctx
from plans.models import common
from plans.domain import data_map as declared
from plans.remote import NamekoAccounts, NamekoCompliance, NamekoLeads, parse_day_totals
from plans.settings import TUNABLES, PlanSettings
from plans.usecases import (
    absences,
    books,
    changes,
    closures,
    ordering,
    queries,
    stats,
    subject_requests,
)
from suivi_common.consumer import reliable_handler
from suivi_common.permissions import BUY_LEADS, require_permission
from suivi_common.database import Database
from suivi_common.service_base import StatCounting, rpc_api, rpc_internal

log = logging.getLogger(__name__)


class PlansService(StatCounting):
    name = "plans"

    db = Database(common)
    plan_config = PlanSettings()
    accounts_rpc = ServiceRpc("accounts")
    leads_rpc = ServiceRpc("leads")
    compliance_rpc = ServiceRpc("compliance")  # dsr_subject, as plans

    @property
    def ctx(self) -> Ctx:
        timeout = self.plan_config.rpc_timeout
        return Ctx.from_db(self.db, self.principal, self.plan_config,
                           NamekoAccounts(self.accounts_rpc, timeout),
                           NamekoLeads(self.leads_rpc, timeout))

    # --- statistics (admin tool 3) ----------------------------------------------------------

    count_stats = staticmethod(stats.stat_counts)  # StatCounting.stat_counts

    # --- buying -------------------------------------------------------------------------------

    @rpc_api
    def quote(self, records: int, tier: str, country: str,
              kind: str | None = None) -> dict[str, Any]:
        return ordering.quote_plan(self.ctx, records, tier, country, kind)

    @rpc_api
    def create_plan(self, records: int, tier: str, country: str,
                    payment_method: str, kind: str | None = None) -> dict[str, Any]:
        require_permission(self.principal, BUY_LEADS)
        return ordering.buy_plan(self.ctx, records, tier, country, payment_method, kind)

    @rpc_api
    def cancel_plan(self, plan_id: str) -> dict[str, Any]:
        return ordering.cancel_plan(self.ctx, plan_id)

    @rpc_api
    def quote_extension(self, plan_id: str, records: int) -> dict[str, Any]:
        return ordering.quote_plan_extension(self.ctx, plan_id, records)

    @rpc_api
    def extend_plan(self, plan_id: str, records: int, payment_method: str) -> dict[str, Any]:
        require_permission(self.principal, BUY_LEADS)
        return ordering.extend_plan(self.ctx, plan_id, records, payment_method)

    @reliable_handler("accounts", "payment_validated")
    def on_payment_validated(self, payload: dict[str, Any]) -> None:
        ordering.on_payment_validated(self.ctx, payload)

    # --- reading ------------------------------------------------------------------------------

    @rpc_api
    def list_plans(self, cursor: str | None = None, limit: int = 50,
                   status: str | None = None) -> dict[str, Any]:
        return queries.list_plans(self.ctx, cursor, limit, status)

    @rpc_api
    def get_plan(self, plan_id: str) -> dict[str, Any]:
        return queries.get_plan(self.ctx, plan_id)

    @rpc_internal
    def active_entitlements(self) -> list[dict[str, Any]]:
        return queries.active_entitlements(self.ctx)

    @rpc_internal(services=("accounts",))
    def running_plan_owners(self, user_ids: list[str]) -> list[str]:
        return queries.running_plan_owners(self.ctx, user_ids)

    @rpc_api
    def get_plan_for_owner(self, plan_id: str) -> dict[str, Any]:
        return queries.get_plan_for_owner(self.ctx, plan_id)

    @rpc_api
    def forecast(self, days: int = 14) -> dict[str, Any]:
        return queries.forecast(self.ctx, days)

    # --- running plans ------------------------------------------------------------------------

    @rpc_api
    def change_tier(self, plan_id: str, tier: str) -> dict[str, Any]:
        return changes.change_tier(self.ctx, plan_id, tier)

    @reliable_handler("leads", "refund_approved")
    def on_refund_approved(self, payload: dict[str, Any]) -> None:
        changes.on_refund_approved(self.ctx, payload)

    # --- absences -----------------------------------------------------------------------------

    @rpc_api
    def request_absence(self, start_date: str, end_date: str, force_majeure: bool = False,
                        reason: str | None = None, details: str | None = None,
                        plan_id: str | None = None) -> dict[str, Any]:
        return absences.request_absence(self.ctx, start_date, end_date, force_majeure, reason,
                                        details, plan_id)

    @rpc_api
    def upload_proof(self, absence_id: str, content_b64: str) -> dict[str, Any]:
        return absences.upload_proof(self.ctx, absence_id, content_b64)

    @rpc_api
    def get_proof(self, absence_id: str) -> dict[str, Any]:
        return absences.get_proof(self.ctx, absence_id)

    @rpc_api
    def list_absences(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        return absences.list_absences(self.ctx, cursor, limit)

    @rpc_api
    def staff_list_absences(self, status: str | None = None, cursor: str | None = None,
                            limit: int = 50) -> dict[str, Any]:
        return absences.staff_list_absences(self.ctx, status, cursor, limit)

    @rpc_api
    def decide_absence(self, absence_id: str, approve: bool,
                       comment: str | None = None) -> dict[str, Any]:
        return absences.decide(self.ctx, absence_id, approve, comment)

    # --- sales closures -----------------------------------------------------------------------

    @rpc_api
    def declare_sales_closure(self, start_date: str, end_date: str,
                              countries: list[str] | None = None, tiers: list[str] | None = None,
                              reason: str = "") -> dict[str, Any]:
        return closures.declare(self.ctx, start_date, end_date, countries, tiers, reason)

    @rpc_api
    def list_sales_closures(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        return closures.list_closures(self.ctx, cursor, limit)

    # --- day close ----------------------------------------------------------------------------

    @rpc_api
    def close_day(self, date: str) -> dict[str, Any]:
        return books.close_by_hand(self.ctx, date)

    @reliable_handler("leads", "plan_day_closed")
    def on_plan_day_closed(self, payload: dict[str, Any]) -> None:
        books.on_day_closed(self.ctx, parse_day_totals(payload))

    # --- GDPR: the register and data-subject requests (compliance README) -------------------

    @rpc_internal
    def data_map(self) -> dict[str, Any]:
        return declared.data_map()

    @reliable_handler("compliance", "dsr_task_requested")
    def on_dsr_task_requested(self, payload: dict[str, Any]) -> None:
        subject_requests.on_task_requested(
            self.ctx, NamekoCompliance(self.compliance_rpc, self.plan_config.rpc_timeout), payload)

    # --- timers -------------------------------------------------------------------------------

    @TUNABLES.timer("DAY_CLOSE_INTERVAL_SECONDS")
    def day_close_tick(self) -> None:
        """Close every past day not closed yet, then apply extensions that waited for it."""
        ctx = self.ctx
        books.tick(ctx)
        ordering.apply_waiting_extensions(ctx)
