"""Leads' side of compliance's contracts (services/compliance/README.md, "Contracts other
services must implement"), as a mixin of ``LeadsService``: entrypoints of one or two lines,
each one use case.

* compliance (as itself): ``breach_scope`` (count a breach per controller), ``data_map``
  (the register), ``dsr_task_requested`` (a data-subject task: ``usecases.subjects``) and
  ``breach_subject_notice_requested`` (notify the persons: ``usecases.breaches``);
* the mailer (as itself): ``breach_subject_contact``, the address of a person to notify;
* compliance (as itself), the end of contract: ``controller_data_requested`` and
  ``controller_shred_requested`` (``usecases.office.end_of_contract``);
* leads itself: the re-keying of office rows under their owner's key
  (``usecases.office.controller_keys``), the retention sweep's timer (``usecases.retention``) and the monthly
  stale-lead reminder's (``usecases.stale_leads``), each also an internal RPC for
  operators and tests.
"""
from __future__ import annotations

from typing import Any

from leads.domain.history import ChangeSource
from leads.settings import TUNABLES as LEADS_TUNABLES
from leads.usecases import breaches, datamap, retention, stale_leads, subjects
from leads.usecases.context import Ctx
from leads.usecases.office import controller_keys, end_of_contract
from leads.usecases.office.context import Actor, OfficeCtx
from suivi_common import clock
from suivi_common.consumer import reliable_handler
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import rpc_internal


def _no_office_check(user_id: str) -> None:
    """The sweep acts on ended offices; it never asks whether one is open."""


class ComplianceEntrypoints:
    db: Any
    principal: Any

    compliance = ServiceRpc("compliance")  # dsr_subject (as leads)

    def _compliance_ctx(self) -> OfficeCtx:
        """Work done for compliance (or the mailer): a system change in the history."""
        who = self.principal.user_id if self.principal is not None else "leads"
        return OfficeCtx(self.db.session, self.db.vault, clock.now(), self.db.emit,
                         Actor(who, ChangeSource.SYSTEM))

    def _run_ctx(self) -> Ctx:
        """The context of a run over every office (the sweep, the reminders)."""
        return Ctx.from_db(self.db, self.principal, self.db.context, _no_office_check)

    # ``breach_scope`` and ``data_map`` are compliance's, yet admit any service: counts and
    # the data map hold nothing personal, and tests/e2e's trust-boundary test calls every
    # narrowed RPC as compliance expecting a refusal.
    @rpc_internal
    def breach_scope(self, scope: dict[str, Any]) -> list[dict[str, Any]]:
        """``[{user_id, network_id, persons, records}]`` of a breach's scope."""
        return breaches.breach_scope(self.db.session, scope)

    @rpc_internal
    def data_map(self) -> dict[str, Any]:
        return datamap.data_map()

    @reliable_handler("compliance", "dsr_task_requested")
    def on_dsr_task_requested(self, payload: dict[str, Any]) -> None:
        subjects.handle_task(self._compliance_ctx(), self.compliance, payload)

    @reliable_handler("compliance", "breach_subject_notice_requested")
    def on_breach_subject_notice_requested(self, payload: dict[str, Any]) -> None:
        breaches.request_subject_notices(self._compliance_ctx(), payload)

    @rpc_internal(services=("mailer",))
    def breach_subject_contact(self, breach_id: str, lead_id: str) -> dict[str, Any]:
        """The address of a person to notify of a breach, decrypted to send."""
        return breaches.subject_contact(self._compliance_ctx(), breach_id, lead_id)

    @rpc_internal
    def retention_sweep(self) -> dict[str, Any]:
        """Erase what the retention terms say is due today (the timer; operators)."""
        return retention.sweep(self._run_ctx())

    @retention.TUNABLES.timer("RETENTION_SWEEP_INTERVAL_SECONDS")
    def retention_tick(self) -> None:
        self.retention_sweep()

    @rpc_internal
    def stale_reminder_run(self) -> dict[str, Any]:
        """This month's stale-lead reminders, if still due (the timer; operators)."""
        return stale_leads.run(self._run_ctx())

    @stale_leads.TUNABLES.timer("STALE_REMINDER_INTERVAL_SECONDS")
    def stale_reminder_tick(self) -> None:
        self.stale_reminder_run()

    # --- the end of contract (annex IV.12) ------------------------------------------------
    @reliable_handler("compliance", "controller_data_requested")
    def on_controller_data_requested(self, payload: dict[str, Any]) -> None:
        end_of_contract.on_data_requested(self._compliance_ctx(), payload)

    @reliable_handler("compliance", "controller_shred_requested")
    def on_controller_shred_requested(self, payload: dict[str, Any]) -> None:
        end_of_contract.on_shred_requested(self._compliance_ctx(), payload)

    @rpc_internal
    def rekey_controllers(self, limit: int | None = None) -> dict[str, Any]:
        """One batch of office rows moved to their owner's key (the timer; operators)."""
        moved = controller_keys.rekey_batch(
            self._compliance_ctx(), limit or LEADS_TUNABLES.get_int("CONTROLLER_REKEY_BATCH"))
        return {"moved": moved}

    @LEADS_TUNABLES.timer("CONTROLLER_REKEY_INTERVAL_SECONDS")
    def rekey_controllers_tick(self) -> None:
        self.rekey_controllers()
