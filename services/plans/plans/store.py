"""Plans at rest and their entitlement snapshots.

A plan row carries the domain entity (``Plan.to_dict()``) plus columns copied from it
for queries. ``publish`` is the only way a changed plan reaches leads: it bumps the
per-plan ``version`` and writes the snapshot to the outbox in the same transaction.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from plans.context import Ctx
from plans.domain.forecast import plan_schedule
from plans.domain.plan import Plan, PlanStatus
from plans.models import plans
from suivi_common import clock
from suivi_common.ids import parse_uuid


@dataclass
class PlanRow:
    plan: Plan
    network_id: str
    version: int
    total_cents: int
    payment_method: str
    payment_id: str | None
    created_at: datetime
    activated_at: datetime | None = None
    cancelled_at: datetime | None = None

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(self.plan.id)

    @property
    def user_id(self) -> str:
        """The plan's owner (``suivi_common.auth.require_owner``)."""
        return self.plan.user_id


def from_record(record: Any) -> PlanRow:
    """A plan row (any select of the plans table) as the domain entity and its money trail."""
    return PlanRow(plan=Plan.from_dict(record.state), network_id=record.network_id,
                   version=record.version, total_cents=record.total_cents,
                   payment_method=record.payment_method, payment_id=record.payment_id,
                   created_at=record.created_at, activated_at=record.activated_at,
                   cancelled_at=record.cancelled_at)


def load(session: Session, plan_id: object, lock: bool = False) -> PlanRow | None:
    """The plan, optionally row-locked.

    The lock is ``FOR NO KEY UPDATE``: exclusive between writers of the plan, but not
    blocked by the key-share lock a foreign key takes when a row referring to the plan
    (an extension, a day report) is inserted by a transaction still open.
    """
    pid = parse_uuid(plan_id)
    if pid is None:
        return None
    query = select(plans).where(plans.c.id == pid)
    record = session.execute(query.with_for_update(key_share=True) if lock else query).first()
    return None if record is None else from_record(record)


def load_where(session: Session, *where: Any, lock: bool = False) -> list[PlanRow]:
    """Plans matching ``where``, in id order (the lock order, so lockers never deadlock)."""
    query = select(plans).where(*where).order_by(plans.c.id)
    return [from_record(r) for r in session.execute(
        query.with_for_update(key_share=True) if lock else query)]


def _columns(row: PlanRow) -> dict[str, Any]:
    plan = row.plan
    return {
        "status": plan.status.value, "tier": plan.tier.value, "country": plan.country,
        "kind": plan.kind, "state": plan.to_dict(), "version": row.version, "start_date": plan.start_date,
        "end_date": plan.end_date,
        "next_close_date": plan.next_day_to_close if plan.status == PlanStatus.ACTIVE else None,
        "records_ordered": plan.records_ordered, "payment_id": row.payment_id,
        "activated_at": row.activated_at, "cancelled_at": row.cancelled_at,
        "updated_at": clock.now(),
    }


def insert_plan(session: Session, row: PlanRow) -> None:
    session.execute(insert(plans).values(
        id=row.id, user_id=row.plan.user_id, network_id=row.network_id,
        total_cents=row.total_cents, payment_method=row.payment_method,
        created_at=row.created_at, **_columns(row)))


def save(session: Session, row: PlanRow) -> None:
    session.execute(update(plans).where(plans.c.id == row.id).values(**_columns(row)))


# --- entitlement snapshots -------------------------------------------------------------------

def schedule(plan: Plan) -> dict[date, int]:
    """Quota due on each remaining delivery day, assuming each day's quota is consumed."""
    first, end = plan.next_day_to_close, plan.end_date
    if plan.status != PlanStatus.ACTIVE or first is None or end is None:
        return {}
    return plan_schedule(plan, first, end)


def snapshot(row: PlanRow, reason: str = "") -> dict[str, Any]:
    """The entitlement snapshot of ARCHITECTURE.md ("Plans <-> leads protocol")."""
    plan = row.plan
    data: dict[str, Any] = {
        "plan_id": plan.id, "user_id": plan.user_id, "network_id": row.network_id,
        "status": plan.status.value, "tier": plan.tier.value, "country": plan.country,
        "kind": plan.kind, "start_date": _iso(plan.start_date), "end_date": _iso(plan.end_date),
        "records_remaining": plan.remaining,
        "quota_schedule": {day.isoformat(): due for day, due in schedule(plan).items()},
        "auto_delivery": False, "version": row.version,
    }
    if reason:
        data["reason"] = reason
    return data


def entitlement(row: PlanRow) -> dict[str, Any]:
    """The snapshot without its version: compare two to tell whether leads must hear of it."""
    data = snapshot(row)
    data.pop("version")
    return data


def publish(ctx: Ctx, row: PlanRow, event_type: str, reason: str,
            before: dict[str, Any] | None = None) -> bool:
    """Save the plan and emit its snapshot with the next version.

    With ``before`` (an earlier ``entitlement(row)``), nothing is emitted when the
    entitlement did not change (a closure entirely after a plan's end, say); the
    plan is saved either way. Returns whether an event was emitted.
    """
    if before is not None and before == entitlement(row):
        save(ctx.session, row)
        return False
    row.version += 1
    save(ctx.session, row)
    ctx.emit(event_type, snapshot(row, reason))
    return True


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
