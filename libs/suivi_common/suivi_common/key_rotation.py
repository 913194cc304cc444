"""Master-key rotation, the part every service runs (``PlatformService.rewrap_data_keys``).

Step by step (README, "Rotating keys"): each service restarts with the new key as
``SUIVI_MASTER_KEY`` and the old one in ``SUIVI_MASTER_KEYS_PREVIOUS`` (it unwraps with
both, wraps with the new); ``python -m tools.rotate_master_key`` has each one re-wrap its
``data_keys`` under the new key while the platform runs; once every service reports none
left under an old key, the previous keys leave the config and are refused from then on.
"""
from __future__ import annotations

from typing import Any

from suivi_common.crypto import KeyRing


def rewrap_data_keys(ring: KeyRing, service: str) -> dict[str, Any]:
    """Re-wrap the service's keys under its current master key (idempotent: a second run
    rewraps nothing) and say what is left under another one (0 once done)."""
    counts = ring.rewrap()
    return {"service": service, "master_key_id": ring.master_key_id,
            "previous_master_keys": ring.previous_master_keys, **counts,
            "left_under_old_master": ring.left_under_old_master()}
