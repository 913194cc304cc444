"""Stock per country x tier x kind (issue 13 §1), today's demand beside it, shortage
alerts, freshness withdrawal.

Demand is what active plans are still owed today: the sum of today's quotas minus what
they took today (never below zero per plan). When it exceeds the fresh stock of a group,
staff get one ``stock_short`` alert per group and day (the row's primary key makes the
second detection a no-op): the signal to declare a sales closure.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from leads.domain.freshness import freshness_cutoff
from leads.domain.timestamps import parse_day
from leads.models import stock_alerts
from leads.settings import TUNABLES
from suivi_common.database import rows_affected
from suivi_common.paging import MAX_LIMIT, check_limit, decode_cursor, encode_cursor


def stock_cutoff(now: datetime) -> datetime:
    """Leads captured before this instant are no longer for sale (terms: freshness)."""
    return freshness_cutoff(now, TUNABLES.get_int("FRESHNESS_DAYS"))


def stock_levels(session: Session, now: datetime, today: date) -> list[dict[str, Any]]:
    available = {(r.country, r.tier, r.kind): (r.n, r.oldest) for r in session.execute(text("""
        SELECT country, tier, kind, count(*) AS n, min(captured_at) AS oldest FROM stock
        WHERE captured_at >= :cutoff GROUP BY country, tier, kind"""),
        {"cutoff": stock_cutoff(now)})}
    demand = {(r.country, r.tier, r.kind): int(r.demand) for r in session.execute(text("""
        SELECT e.country, e.tier, e.kind,
               sum(greatest(coalesce((e.quota_schedule ->> CAST(:today AS text))::int, 0)
                            - coalesce(d.taken, 0), 0)) AS demand
        FROM entitlements e
        LEFT JOIN plan_days d ON d.plan_id = e.plan_id AND d.day = :today
        WHERE e.status = 'active' GROUP BY e.country, e.tier, e.kind"""), {"today": today})}
    out = []
    for group in sorted(set(available) | set(demand)):
        n, oldest = available.get(group, (0, None))
        need = demand.get(group, 0)
        out.append({
            "country": group[0], "tier": group[1], "kind": group[2], "available": n,
            "oldest_captured_at": oldest.isoformat() if oldest else None,
            "oldest_age_hours": round((now - oldest).total_seconds() / 3600, 1) if oldest else None,
            "demand_today": need, "short": need > n,
        })
    return out


def raise_alerts(session: Session, levels: list[dict[str, Any]], today: date, now: datetime,
                 emit: Callable[[str, Mapping[str, Any]], Any]) -> list[dict[str, Any]]:
    """Record (once per group and day) and announce every group whose demand exceeds stock."""
    raised = []
    for level in levels:
        if not level["short"]:
            continue
        row = session.execute(pg_insert(stock_alerts).values(
            country=level["country"], tier=level["tier"], kind=level["kind"], day=today,
            demand=level["demand_today"], available=level["available"], created_at=now,
        ).on_conflict_do_nothing().returning(stock_alerts.c.country)).first()
        if row is None:
            continue
        alert = {"country": level["country"], "tier": level["tier"], "kind": level["kind"],
                 "date": today.isoformat(),
                 "demand": level["demand_today"], "available": level["available"]}
        emit("stock_short", alert)
        raised.append(alert)
    return raised


def list_alerts(session: Session, day: Any = None, cursor: str | None = None,
                limit: int | None = None) -> dict[str, Any]:
    """A page of alerts, newest day first (then country, tier); one day's when ``day``
    (YYYY-MM-DD) is given. Without ``limit`` a page is as large as pages go (500): a caller
    that does not page yet sees what it saw before pages."""
    day = parse_day(day) if day else None
    limit = check_limit(MAX_LIMIT if limit is None else limit)
    a = stock_alerts
    query = select(a).order_by(a.c.day.desc(), a.c.country, a.c.tier, a.c.kind).limit(limit + 1)
    if day:
        query = query.where(a.c.day == day)
    after = decode_cursor(cursor, str, str, str, str, kind="stock_alerts")
    if after is not None:
        after_day, group = parse_day(after[0], "cursor"), tuple(after[1:])
        query = query.where(or_(a.c.day < after_day, and_(
            a.c.day == after_day, tuple_(a.c.country, a.c.tier, a.c.kind) > group)))
    rows = session.execute(query).all()
    last = rows[limit - 1] if len(rows) > limit else None
    return {"items": [{"country": r.country, "tier": r.tier, "kind": r.kind,
                       "date": r.day.isoformat(),
                       "demand": r.demand, "available": r.available,
                       "created_at": r.created_at.isoformat()} for r in rows[:limit]],
            "next_cursor": None if last is None else encode_cursor(
                last.day.isoformat(), last.country, last.tier, last.kind, kind="stock_alerts")}


def check(session: Session, now: datetime, today: date,
          emit: Callable[[str, Mapping[str, Any]], Any]) -> dict[str, Any]:
    """Withdraw stale leads and raise shortage alerts (the stock timer)."""
    withdrawn = withdraw_stale(session, now)
    return {"withdrawn": withdrawn,
            "alerts": raise_alerts(session, stock_levels(session, now, today), today, now, emit)}


def withdraw_stale(session: Session, now: datetime) -> int:
    """Take leads past the freshness limit off sale for good (they stay stored, unsold)."""
    return rows_affected(session.execute(text("""
        WITH gone AS (DELETE FROM stock WHERE captured_at < :cutoff RETURNING lead_id)
        UPDATE leads SET withdrawn_at = :now FROM gone WHERE leads.id = gone.lead_id"""),
        {"cutoff": stock_cutoff(now), "now": now}))
