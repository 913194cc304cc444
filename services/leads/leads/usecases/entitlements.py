"""Read models fed by other services: plan entitlements (plans) and offices (accounts).

Entitlement snapshots carry a per-plan ``version``; an older or equal version than the one
held is ignored, so events replayed, reordered or mixed with the start-up re-sync converge
on the newest snapshot. Office state follows subscription events; for a user no event
told about yet, the office's one check (``usecases.office.access.require_office_open``) asks
accounts and keeps the answer a short while per instance.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from nameko.exceptions import RpcTimeout, UnknownService
from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from leads.models import entitlements, member_permissions, offices
from suivi_common.errors import ServiceUnavailable
from suivi_common.kinds import kind_of

log = logging.getLogger(__name__)
#: What a call to a service that is down, silent or unreachable raises.
UNAVAILABLE = (UnknownService, RpcTimeout, ServiceUnavailable)

SNAPSHOT_FIELDS = ("plan_id", "user_id", "network_id", "status", "tier", "country", "kind",
                   "start_date", "end_date", "records_remaining", "quota_schedule",
                   "auto_delivery", "version")


class BadSnapshot(ValueError):
    """A snapshot lacking what delivery needs: a bug upstream, worth a dead letter."""


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def parse_snapshot(payload: Mapping[str, Any]) -> dict[str, Any]:
    missing = [f for f in ("plan_id", "user_id", "network_id", "status", "tier", "country",
                           "version") if payload.get(f) in (None, "")]
    if missing:
        raise BadSnapshot(f"entitlement snapshot lacks {missing}")
    schedule = payload.get("quota_schedule") or {}
    if not isinstance(schedule, Mapping):
        raise BadSnapshot("quota_schedule must be a mapping")
    return {
        "plan_id": str(payload["plan_id"]),
        "user_id": str(payload["user_id"]),
        "network_id": str(payload["network_id"]),
        "status": str(payload["status"]),
        "tier": str(payload["tier"]),
        "country": str(payload["country"]).upper(),
        # the office kind the plan buys; a snapshot older than kinds: construction
        "kind": kind_of(payload),
        "start_date": _date(payload.get("start_date")),
        "end_date": _date(payload.get("end_date")),
        "records_remaining": int(payload.get("records_remaining") or 0),
        "quota_schedule": {str(_date(d)): int(q) for d, q in schedule.items()},
        "auto_delivery": bool(payload.get("auto_delivery", False)),
        "version": int(payload["version"]),
    }


def apply_snapshot(session: Session, payload: Mapping[str, Any], now: datetime) -> bool:
    """Upsert the snapshot unless a newer (or the same) version is held; True if applied."""
    values = {**parse_snapshot(payload), "updated_at": now}
    stmt = pg_insert(entitlements).values(**values)
    changed = {k: stmt.excluded[k] for k in values if k != "plan_id"}
    stmt = stmt.on_conflict_do_update(index_elements=["plan_id"], set_=changed,
                                      where=entitlements.c.version < stmt.excluded.version)
    return session.execute(stmt.returning(entitlements.c.plan_id)).first() is not None


def quota_on(schedule: Mapping[str, Any], day: date) -> int:
    return int(schedule.get(day.isoformat(), 0) or 0)


# --- offices ------------------------------------------------------------------------------

def office_state(session: Session, user_id: str) -> bool | None:
    row = session.execute(select(offices.c.active).where(offices.c.user_id == user_id)).first()
    return None if row is None else bool(row.active)


def record_office(session: Session, user_id: str, active: bool, now: datetime,
                  subscription_id: str | None = None) -> None:
    """A subscription event: an ended event for another subscription than the one held
    active (an old one expiring after a renewal) does not close the office."""
    values = {"user_id": user_id, "active": active, "subscription_id": subscription_id,
              "source": "event", "updated_at": now, "ended_at": None if active else now}
    stmt = pg_insert(offices).values(**values)
    # the retention sweep counts from the first close; a later ended event keeps it
    ended_at = case((stmt.excluded.active, None),
                    else_=func.coalesce(offices.c.ended_at, stmt.excluded.ended_at))
    where = None
    if not active and subscription_id:
        where = (offices.c.subscription_id.is_(None)
                 | (offices.c.subscription_id == subscription_id)
                 | (offices.c.active.is_(False)))
    session.execute(stmt.on_conflict_do_update(
        index_elements=["user_id"],
        set_={**{k: stmt.excluded[k] for k in ("active", "subscription_id", "source",
                                                 "updated_at")}, "ended_at": ended_at},
        where=where))


def subscription_activated(session: Session, payload: Mapping[str, Any], now: datetime) -> None:
    record_office(session, str(payload["user_id"]), True, now,
                  _opt_str(payload.get("subscription_id")))


def subscription_ended(session: Session, payload: Mapping[str, Any], now: datetime) -> None:
    """``office_active`` says whether another subscription keeps the office open."""
    record_office(session, str(payload["user_id"]), bool(payload.get("office_active", False)),
                  now, _opt_str(payload.get("subscription_id")))


# --- members' permissions ----------------------------------------------------------------------

def record_take_permission(session: Session, user_id: str, allowed: bool, as_of: datetime) -> bool:
    """Keep the newest word of accounts on whether the member may take leads; an older one
    arriving late (or a replay) changes nothing. True when this word is now the one held."""
    stmt = pg_insert(member_permissions).values(user_id=user_id, take_leads=allowed, as_of=as_of)
    applied = session.execute(stmt.on_conflict_do_update(
        index_elements=["user_id"],
        set_={"take_leads": stmt.excluded.take_leads, "as_of": stmt.excluded.as_of},
        where=member_permissions.c.as_of <= stmt.excluded.as_of,
    ).returning(member_permissions.c.user_id)).first()
    return applied is not None


def auto_delivery_groups_of(session: Session, user_id: str) -> list[tuple[str, str, str]]:
    """The country x tier x kind groups of the member's active auto-delivery plans."""
    e = entitlements
    rows = session.execute(
        select(e.c.country, e.c.tier, e.c.kind).distinct()
        .where(e.c.user_id == user_id, e.c.status == "active",
               func.coalesce(e.c.auto_delivery_override, e.c.auto_delivery))
        .order_by(e.c.country, e.c.tier, e.c.kind))
    return [(r.country, r.tier, r.kind) for r in rows]


def resync(session: Session, plans: Any, state: Any, now: datetime) -> None:
    """Start-up re-sync from plans (``plans.active_entitlements``), once per instance;
    while plans is unavailable the timer tries again later."""
    if state.done:
        return
    try:
        snapshots = plans.active_entitlements()
    except UNAVAILABLE as exc:
        log.info("entitlement re-sync postponed: plans unavailable (%r)", exc)
        return
    if isinstance(snapshots, dict):
        snapshots = snapshots.get("items", [])
    applied = sum(apply_snapshot(session, s, now) for s in snapshots)
    state.done = True
    log.info("entitlements re-synced: %d snapshots, %d newer than held", len(snapshots), applied)


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
