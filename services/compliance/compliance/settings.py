"""Compliance settings: nameko config, then the environment, then these defaults. Read on
each use, so tests and operators change them without a restart."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from suivi_common.settings import setting

#: The terms (annex IV.6) give controllers at least 5 days' notice of a sub-processor
#: change; 30 days is the usual notice in processing contracts, and the default.
MIN_SUBPROCESSOR_NOTICE_DAYS = 5


def _number(key: str, default: float) -> float:
    value = setting(key, default)
    return default if value in (None, "") else float(value)


def _text(key: str, default: str) -> str:
    value = setting(key, default)
    return default if value in (None, "") else str(value)


@dataclass(frozen=True)
class Settings:
    dsr_task_late_after: timedelta
    subprocessor_notice: timedelta
    dpo_name: str
    dpo_email: str
    rpc_timeout_seconds: float
    public_url: str
    processor_name: str


def load() -> Settings:
    notice_days = max(_number("SUBPROCESSOR_NOTICE_DAYS", 30), MIN_SUBPROCESSOR_NOTICE_DAYS)
    return Settings(
        dsr_task_late_after=timedelta(seconds=_number("DSR_TASK_LATE_SECONDS", 3600)),
        subprocessor_notice=timedelta(days=notice_days),
        dpo_name=_text("DPO_NAME", ""),
        dpo_email=_text("DPO_EMAIL", ""),
        rpc_timeout_seconds=_number("COMPLIANCE_RPC_TIMEOUT_SECONDS", 10),
        public_url=_text("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        processor_name=_text("PROCESSOR_NAME", "Suivi"),
    )
