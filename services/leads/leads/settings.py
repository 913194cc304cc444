"""The leads service's tunables, read from nameko config (then env, then the default).

Read at call time, not import time: tests and ``nameko run`` install the config after
the service module is imported.
"""
from __future__ import annotations

from typing import Any

from leads.domain.dedup import DEFAULT_WINDOW_DAYS
from leads.domain.freshness import DEFAULT_MAX_AGE_DAYS
from suivi_common.settings import setting

DEFAULTS: dict[str, Any] = {
    "DUPLICATE_WINDOW_DAYS": DEFAULT_WINDOW_DAYS,
    "FRESHNESS_DAYS": DEFAULT_MAX_AGE_DAYS,
    "CAPTURE_BATCH_MAX": 1000,
    "CAPTURE_QUEUE": "leads.capture",
    "AUTO_DELIVERY_INTERVAL_SECONDS": 30,
    "STOCK_CHECK_INTERVAL_SECONDS": 60,
    "DAY_CLOSE_INTERVAL_SECONDS": 300,
    "REKEY_INTERVAL_SECONDS": 2,
    "REKEY_BATCH": 1000,
    "ENTITLEMENT_SYNC_RETRY_SECONDS": 10,
    "RPC_TIMEOUT_SECONDS": 5,
}


def get(key: str) -> Any:
    return setting(key, DEFAULTS[key])


def get_int(key: str) -> int:
    return int(get(key))


def get_float(key: str) -> float:
    return float(get(key))
