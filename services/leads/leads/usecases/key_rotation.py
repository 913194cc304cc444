"""Rotating one network's data key in leads, without downtime.

``begin`` adds a new current version of the network's key (the old one stays, so every
row still opens); processes pick it up within ``KEY_CACHE_SECONDS``, after which nothing
new is sealed under the old version. ``reseal_batch`` then moves the captured copies of
the network's bought leads (``leads.pii`` and their blind indexes, the largest holder of
its personal data) to the new version, ``BATCH`` rows a transaction, keyset-paged by id:
reads go on meanwhile (both versions open, look-ups match either blind index).
``finish`` takes what else the network's key seals (office rows not re-keyed to their
owner's key yet, their claims and exports: moved to the owner's key, as the re-keying
timer does), re-wraps the network's controller keys under the new version, and retires
the old one only once nothing is left under it. Each step is idempotent: a tool that
stops half-way resumes by running them again.
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select, update

from leads.models import leads, office_export_chunks, office_exports, refund_claims
from leads.usecases.capture import lead_blind_indexes
from leads.usecases.office import controller_keys
from leads.usecases.office.context import OfficeCtx
from suivi_common.crypto import KEY_CACHE_SECONDS, PLATFORM_SCOPE, SCOPE_SEPARATOR, KeyRing, Vault
from suivi_common.errors import Invalid

BATCH = 500


def _network(network_id: Any) -> str:
    """Only a network's own key rotates here: the platform's also keys the dedup and
    opposition digests, a controller's lives under its network's."""
    if not isinstance(network_id, str) or not network_id or network_id == PLATFORM_SCOPE \
            or SCOPE_SEPARATOR in network_id:
        raise Invalid("network_id must be a network's id",
                      fields={"network_id": "a network's id (not the platform's)"})
    return network_id


def _stale(vault: Vault, network_id: str) -> Any:
    """Rows of ``leads`` under the network whose ``pii`` is not sealed by its current version."""
    current = vault.sealed_prefix(network_id)
    return (leads.c.key_scope == network_id, leads.c.pii.is_not(None),
            func.substring(leads.c.pii, 1, len(current)) != current)


def begin(ring: KeyRing, session: Any, network_id: str) -> dict[str, Any]:
    network_id = _network(network_id)
    started = ring.begin_rotation(session, network_id)
    return {"network_id": network_id, "started": started, "wait_seconds": KEY_CACHE_SECONDS}


def reseal_batch(vault: Vault, session: Any, network_id: str, after: str | None = None,
                 limit: int = BATCH) -> dict[str, Any]:
    """Up to ``limit`` of the network's captured leads moved to its current key version,
    from id ``after`` on; ``next`` is where the next batch starts (None: the end)."""
    network_id = _network(network_id)
    where = list(_stale(vault, network_id))
    if after:
        where.append(leads.c.id > after)
    rows = session.execute(select(leads.c.id, leads.c.pii).where(*where).order_by(leads.c.id)
                           .limit(limit).with_for_update(skip_locked=True)).all()
    for row in rows:
        clear = vault.decrypt(network_id, "leads", "pii", row.id, row.pii)
        data = json.loads(clear or "null") or {}
        session.execute(update(leads).where(leads.c.id == row.id).values(
            pii=vault.encrypt(network_id, "leads", "pii", row.id, clear),
            **lead_blind_indexes(vault, network_id, data)))
    return {"network_id": network_id, "resealed": len(rows),
            "next": str(rows[-1].id) if len(rows) == limit else None}


def finish(ring: KeyRing, ctx: OfficeCtx, network_id: str) -> dict[str, Any]:
    """Whatever else is under the network's old version, then its retirement if nothing
    is left; ``left`` says what still is (run the reseal batches and this again)."""
    network_id = _network(network_id)
    session, vault = ctx.session, ctx.vault
    moved = controller_keys.rekey_batch(ctx, BATCH, network_id=network_id)
    claims = refund_claims
    for claim in session.execute(select(claims).where(
            claims.c.network_id == network_id, claims.c.key_scope.is_(None))).all():
        session.execute(update(claims).where(claims.c.id == claim.id).values(**{
            col: vault.reseal_current(network_id, "refund_claims", col, claim.id,
                                      getattr(claim, col))
            for col in ("comment", "checks", "decision_comment")}))
    chunks = session.execute(select(office_export_chunks).join(
        office_exports, office_exports.c.id == office_export_chunks.c.export_id).where(
        office_exports.c.network_id == network_id, office_exports.c.key_scope.is_(None))).all()
    for chunk in chunks:
        row_id = f"{chunk.export_id}:{chunk.n}"
        session.execute(update(office_export_chunks).where(
            office_export_chunks.c.export_id == chunk.export_id,
            office_export_chunks.c.n == chunk.n).values(data=vault.reseal_current(
                network_id, "office_export_chunks", "data", row_id, chunk.data)))
    session.flush()
    controllers = ring.rewrap(prefix=network_id + SCOPE_SEPARATOR)
    left = {
        "leads": int(session.execute(select(func.count()).select_from(leads)
                                     .where(*_stale(vault, network_id))).scalar_one()),
        "office_leads": int(session.execute(select(func.count()).select_from(
            controller_keys.T).where(*controller_keys.LEGACY,
                                     controller_keys.T.c.network_id == network_id)
        ).scalar_one()),
        "controller_keys": int(ring.rewrap(prefix=network_id + SCOPE_SEPARATOR)["rewrapped"]),
    }
    retired = 0
    if not any(left.values()):
        retired = ring.retire_old_versions(session, network_id)
    return {"network_id": network_id, "office_rows_rekeyed": moved,
            "controller_keys_rewrapped": controllers["rewrapped"], "left": left,
            "retired_versions": retired, "done": not any(left.values())}
