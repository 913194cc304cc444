"""Master-key rotation, the part every service runs (``PlatformService.rewrap_data_keys``).

Step by step (README, "Rotating keys"): each service restarts with the new key as
``SUIVI_MASTER_KEY`` and the old one in ``SUIVI_MASTER_KEYS_PREVIOUS`` (it unwraps with
both, wraps with the new); ``python -m tools.rotate_master_key`` has each one re-wrap its
``data_keys`` under the new key while the platform runs; once every service reports none
left under an old key, the previous keys leave the config and are refused from then on.
"""
from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from suivi_common.crypto import KeyDestroyed, KeyRing


def rewrap_data_keys(ring: KeyRing, service: str) -> dict[str, Any]:
    """Re-wrap the service's keys under its current master key (idempotent: a second run
    rewraps nothing) and say what is left under another one (0 once done)."""
    counts = ring.rewrap()
    return {"service": service, "master_key_id": ring.master_key_id,
            "previous_master_keys": ring.previous_master_keys, **counts,
            "left_under_old_master": ring.left_under_old_master()}


def unopened_scopes(ring: KeyRing, engine: Engine) -> list[str]:
    """The live keys of a service's ``data_keys`` that ``ring`` cannot unwrap, every scope
    (networks, the platform's, the subkey root, compliance's own, and the controller keys
    their networks' keys wrap). Given a ring that holds only the new master key, an empty
    answer proves the rotation left no key, at any depth, that needs the old one; a ring
    holding only the old key should open none of them."""
    t = ring.table
    with engine.connect() as conn:
        scopes = list(conn.execute(select(t.c.scope).where(t.c.wrapped_key.is_not(None))
                                   .order_by(t.c.scope)).scalars())
    ring.forget()
    unopened = []
    with Session(engine) as session:
        for scope in scopes:  # a network's key before its controllers' (ordered by scope)
            try:
                ring.data_keys(session, scope, create=False)
            except (InvalidTag, KeyDestroyed):
                unopened.append(scope)
    ring.forget()
    return unopened
