"""The day book: each plan's totals of a day (taken, shortfall), and the day close.

The running totals (``plan_days``) are written by takes and auto-delivery runs under the
plan's entitlement row lock. The day close settles each past day once, for every group
(``settle_day``): the part of the plans' untaken quotas that the stock could not have
served becomes shortfall (``domain.shortfall``); then each plan's totals are frozen and
reported to plans (``close_books``, ``plan_day_closed``), once per plan and date.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from leads.domain.freshness import freshness_cutoff
from leads.domain.shortfall import PlanDay, late_shortfall, settle_group
from leads.domain.timestamps import parse_day
from leads.models import day_closes, day_settlements, entitlements, group_days, plan_days
from leads.settings import TUNABLES
from leads.usecases.entitlements import quota_on
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid

log = logging.getLogger(__name__)

# --- day totals -------------------------------------------------------------------------------

def day_rows(session: Session, plan_ids: Sequence[str], day: date) -> dict[str, tuple[int, int]]:
    if not plan_ids:
        return {}
    rows = session.execute(select(plan_days.c.plan_id, plan_days.c.taken, plan_days.c.shortfall)
                           .where(plan_days.c.day == day, plan_days.c.plan_id.in_(plan_ids)))
    return {r.plan_id: (r.taken, r.shortfall) for r in rows}


_SAVE_DAYS = text("""
INSERT INTO plan_days (plan_id, day, taken, shortfall, updated_at)
SELECT plan_id, :day, taken, shortfall, :now
FROM unnest(CAST(:plan_ids AS text[]), CAST(:taken AS int[]), CAST(:shortfall AS int[]))
    AS t(plan_id, taken, shortfall)
ON CONFLICT (plan_id, day) DO UPDATE
SET taken = EXCLUDED.taken, shortfall = EXCLUDED.shortfall, updated_at = EXCLUDED.updated_at
""")

def save_days(session: Session, day: date, totals: Mapping[str, tuple[int, int]],
               now: datetime) -> None:
    """Absolute totals, written under the plans' row locks (one statement, any size)."""
    if not totals:
        return
    ids = sorted(totals)
    session.execute(_SAVE_DAYS, {"day": day, "now": now, "plan_ids": ids,
                                 "taken": [totals[p][0] for p in ids],
                                 "shortfall": [totals[p][1] for p in ids]})



# --- closing the books --------------------------------------------------------------------------

SETTLE_LOCK_CLASS = 0x5E77  # advisory lock namespace of day settlements (key: the day)


def in_settlement() -> None:
    """Called inside a day's settlement once its plans are locked (tests pause here)."""


_DAY_PLANS = text("""
SELECT e.plan_id, e.country, e.tier, e.kind,
       coalesce((e.quota_schedule ->> CAST(:day AS text))::int, 0) AS quota
FROM entitlements e
WHERE coalesce((e.quota_schedule ->> CAST(:day AS text))::int, 0) > 0
   OR e.plan_id IN (SELECT plan_id FROM plan_days WHERE day = :day)
   OR e.plan_id = ANY(CAST(:asked AS text[]))
ORDER BY e.plan_id
FOR UPDATE OF e
""")

# Leads of each group on sale at some instant of the day and not sold on it or before
# (domain.shortfall, point 2), from the leads' own timestamps: the stock table only
# knows the present, and the close may run after midnight, once the next day's stock
# and sales have moved it. Withdrawal only happens to stale leads, so freshness is
# computed from ``captured_at`` (a withdrawal timer that ran late changes nothing).
_LEFTOVER = text("""
SELECT g.country, g.tier, g.kind, (
    SELECT count(*) FROM leads l
    WHERE l.status = 'accepted' AND l.country = g.country AND l.tier = g.tier
      AND l.kind = g.kind
      AND l.captured_at >= :fresh_from AND l.captured_at < :day_end
      AND (l.withdrawn_at IS NULL OR l.withdrawn_at >= :day_start)
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.lead_id = l.id AND d.day <= :day)
) AS leftover
FROM unnest(CAST(:countries AS text[]), CAST(:tiers AS text[]), CAST(:kinds AS text[]))
    AS g(country, tier, kind)
""")


def _is_settled(session: Session, day: date) -> bool:
    return session.execute(select(day_settlements.c.day)
                           .where(day_settlements.c.day == day)).first() is not None


def _leftover(session: Session, day: date, groups: Sequence[tuple[str, str, str]]
              ) -> dict[tuple[str, str, str], int]:
    if not groups:
        return {}
    start, end = clock.paris_midnight(day), clock.paris_midnight(day + timedelta(days=1))
    rows = session.execute(_LEFTOVER, {
        "day": day, "day_start": start, "day_end": end,
        "fresh_from": freshness_cutoff(start, TUNABLES.get_int("FRESHNESS_DAYS")),
        "countries": [g[0] for g in groups], "tiers": [g[1] for g in groups],
        "kinds": [g[2] for g in groups]})
    return {(r.country, r.tier, r.kind): int(r.leftover) for r in rows}


def settle_day(session: Session, day: date, asked: Sequence[str] = ()) -> bool:
    """Turn the part of ``day``'s untaken quotas that the stock could not have served into
    shortfall (``domain.shortfall``), for every group, once; True if this call settled.

    Runs at the first close of the day, under an advisory lock (one settler per day, any
    number of instances) and the row locks of every plan of the day plus ``asked``, taken
    in plan id order in one statement: a take or run still in flight on that day finishes
    first, and one that comes after reads the next day. The plans' day totals are read
    only then, so the settlement sees every sale of the day.
    """
    if _is_settled(session, day):
        return False
    session.execute(text("SELECT pg_advisory_xact_lock(:cls, :key)"),
                    {"cls": SETTLE_LOCK_CLASS, "key": day.toordinal()})
    if _is_settled(session, day):  # another instance settled while this one waited
        return False
    plans = session.execute(_DAY_PLANS, {"day": day, "asked": list(asked)}).all()
    in_settlement()
    totals = {r.plan_id: (r.taken, r.shortfall) for r in session.execute(
        select(plan_days.c.plan_id, plan_days.c.taken, plan_days.c.shortfall)
        .where(plan_days.c.day == day))}
    groups: dict[tuple[str, str, str], list[PlanDay]] = {}  # country x tier x kind
    for p in plans:
        taken, recorded = totals.get(p.plan_id, (0, 0))
        groups.setdefault((p.country, p.tier, p.kind), []).append(
            PlanDay(p.plan_id, p.quota, taken, recorded))
    needy = sorted(g for g, members in groups.items() if any(m.open for m in members))
    leftover = _leftover(session, day, needy)
    now = clock.now()
    changed: dict[str, tuple[int, int]] = {}
    facts = []
    for group, members in sorted(groups.items()):
        result = settle_group(members, leftover.get(group, 0))
        for m in members:
            if result.shortfall[m.plan_id] != m.recorded:
                changed[m.plan_id] = (m.taken, result.shortfall[m.plan_id])
        if group in leftover:
            facts.append({"country": group[0], "tier": group[1], "kind": group[2], "day": day,
                          "open_quota": result.open_quota, "leftover": result.leftover,
                          "missing": result.missing, "settled_at": now,
                          "shares": {k: v for k, v in result.shares.items() if v}})
    save_days(session, day, changed, now)
    if facts:
        session.execute(pg_insert(group_days).values(facts).on_conflict_do_nothing())
    session.execute(pg_insert(day_settlements).values(
        day=day, plans=len(plans), groups=len(groups), settled_at=now,
        plan_ids=[p.plan_id for p in plans]))
    return True


def settle_late(session: Session, day: date, plan_id: str, quota: int) -> None:
    """A plan the day's settlement did not cover, its entitlement row locked: it arrived
    after the day was settled, so it was unknown all day (``domain.shortfall``, point 7),
    and its untaken quota becomes shortfall. Its day row then says it is settled (a plan
    with a day row of its own was known, hence covered)."""
    covered = session.execute(select(day_settlements.c.plan_ids)
                              .where(day_settlements.c.day == day)).scalar()
    if covered is None or plan_id in covered:  # not settled, an old settlement, or covered
        return
    if day_rows(session, [plan_id], day):
        return
    shortfall = late_shortfall(PlanDay(plan_id, quota, 0, 0))
    save_days(session, day, {plan_id: (0, shortfall)}, clock.now())


def close_books(session: Session, day: Any, plan_ids: Any,
                emit: Callable[[str, Mapping[str, Any]], Any]) -> dict[str, Any]:
    """Plans' day close: freeze each plan's totals for ``day`` (once) and report them to
    plans (``plan_day_closed``); closing again reports the same numbers."""
    day = parse_day(day)
    if not isinstance(plan_ids, list | tuple):
        raise Invalid("plan_ids must be a list", fields={"plan_ids": "must be a list"})
    if day >= clock.today():
        raise Conflict(f"{day.isoformat()} is not over yet", code="day_close_not_over")
    asked = sorted({str(p) for p in plan_ids})
    settle_day(session, day, asked)
    out = []
    for plan_id in asked:
        held = session.execute(select(entitlements.c.quota_schedule)
                               .where(entitlements.c.plan_id == plan_id)
                               .with_for_update()).first()
        already = session.execute(select(day_closes.c.plan_id).where(
            day_closes.c.plan_id == plan_id, day_closes.c.day == day)).first()
        if held is None and already is None:
            # not held here yet (its activation is on its way): leave it open, plans asks
            # again, rather than freezing a day leads knew nothing of (shortfall, point 7)
            log.info("close of %s for %s postponed: no entitlement yet", day, plan_id)
            continue
        if held is not None and already is None:
            settle_late(session, day, plan_id, quota_on(held.quota_schedule, day))
        taken, shortfall = day_rows(session, [plan_id], day).get(plan_id, (0, 0))
        # the primary key settles a concurrent close of the same plan and day
        inserted = session.execute(pg_insert(day_closes).values(
            plan_id=plan_id, day=day, taken=taken, shortfall=shortfall, closed_at=clock.now(),
        ).on_conflict_do_nothing().returning(day_closes.c.plan_id)).first()
        if inserted is None:
            closed = session.execute(select(day_closes.c.taken, day_closes.c.shortfall)
                                     .where(day_closes.c.plan_id == plan_id,
                                            day_closes.c.day == day)).one()
            out.append({"plan_id": plan_id, "date": day.isoformat(), "taken": closed.taken,
                        "shortfall": closed.shortfall, "already_closed": True})
            continue
        report = {"plan_id": plan_id, "date": day.isoformat(), "taken": taken,
                  "shortfall": shortfall}
        emit("plan_day_closed", report)
        out.append({**report, "already_closed": False})
    return {"date": day.isoformat(), "items": out}


def close_yesterday(session: Session, emit: Callable[[str, Mapping[str, Any]], Any]) -> None:
    """The day-close timer: yesterday's books, for every plan still open on it."""
    day = yesterday()
    plan_ids = plans_to_close(session, day)
    if plan_ids:
        close_books(session, day, plan_ids, emit)


def plans_to_close(session: Session, day: date) -> list[str]:
    """Plans with a quota or a delivery on ``day`` whose books are still open."""
    rows = session.execute(text("""
        SELECT plan_id FROM entitlements
        WHERE coalesce((quota_schedule ->> CAST(:day AS text))::int, 0) > 0
        UNION
        SELECT plan_id FROM plan_days WHERE day = :day
        EXCEPT
        SELECT plan_id FROM day_closes WHERE day = :day"""), {"day": day})
    return sorted(r.plan_id for r in rows)


def yesterday() -> date:
    return clock.today() - timedelta(days=1)
