"""Compliance settings: nameko config, then the environment, then these defaults
(``suivi_common.settings.Tunables``). Read on each use, so tests and operators change
them without a restart."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from suivi_common.settings import Tunables

#: The terms (annex IV.6) give controllers at least 5 days' notice of a sub-processor
#: change; 30 days is the usual notice in processing contracts, and the default.
MIN_SUBPROCESSOR_NOTICE_DAYS = 5

TUNABLES = Tunables(
    DSR_TASK_LATE_SECONDS=3600,
    DSR_RETRY_INTERVAL_SECONDS=60,
    DSR_EXPORT_DAYS=7,
    DSR_EXPORT_SWEEP_SECONDS=300,
    SUBPROCESSOR_NOTICE_DAYS=30,
    DPO_NAME="",
    DPO_EMAIL="",
    COMPLIANCE_RPC_TIMEOUT_SECONDS=10,
    PUBLIC_URL="http://127.0.0.1:8000",
    PROCESSOR_NAME="Suivi",
    # the end of contract (annex IV.12): the delay after which the data is destroyed
    # without the controller's confirmation of receipt; how often due ones are looked for
    END_OF_CONTRACT_SHRED_DAYS=30,
    END_OF_CONTRACT_SWEEP_SECONDS=60,
)


@dataclass(frozen=True)
class Settings:
    dsr_task_late_after: timedelta
    dsr_export_days: int
    subprocessor_notice: timedelta
    dpo_name: str
    dpo_email: str
    rpc_timeout_seconds: float
    public_url: str
    processor_name: str
    end_of_contract_shred_days: int


def load() -> Settings:
    t = TUNABLES
    notice_days = max(t.get_float("SUBPROCESSOR_NOTICE_DAYS"), MIN_SUBPROCESSOR_NOTICE_DAYS)
    return Settings(
        dsr_task_late_after=timedelta(seconds=t.get_float("DSR_TASK_LATE_SECONDS")),
        dsr_export_days=max(1, t.get_int("DSR_EXPORT_DAYS")),
        subprocessor_notice=timedelta(days=notice_days),
        dpo_name=str(t.get("DPO_NAME") or ""),
        dpo_email=str(t.get("DPO_EMAIL") or ""),
        rpc_timeout_seconds=t.get_float("COMPLIANCE_RPC_TIMEOUT_SECONDS"),
        public_url=str(t.get("PUBLIC_URL")).rstrip("/"),
        processor_name=str(t.get("PROCESSOR_NAME")),
        end_of_contract_shred_days=max(1, t.get_int("END_OF_CONTRACT_SHRED_DAYS")),
    )
