"""Statistics of plans (admin tool 3, ``plan_take_rate``): of the leads the closed days
of the members' plans were due, the share they took (taken / due, 0..1), from the day
reports plans applied (``day_reports.outcome``, ``domain.day_close``). One set-based
statement, grouped in PostgreSQL (``suivi_common.stats``); a group with nothing due has
no point."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from suivi_common import stats


def counts_sql(grouping: str, scope: stats.Scope) -> str:
    where = stats.scope_sql(scope, network="p.network_id", owner="p.user_id")
    # the day is a Paris calendar day already: its group is its own week or month
    group = stats.group_sql(grouping, time="d.day::timestamp AT TIME ZONE 'Europe/Paris'",
                            owner="p.user_id")
    return (f"SELECT 'plan_take_rate' AS series, {group} AS x, "
            "sum(d.taken) AS taken, sum((d.outcome->>'quota_due')::int) AS due "
            f"FROM day_reports d JOIN plans p ON p.id = d.plan_id WHERE {where} "
            "AND d.status = 'applied' AND d.day >= :first AND d.day <= :last "
            "GROUP BY 1, 2 HAVING sum((d.outcome->>'quota_due')::int) > 0")


def stat_counts(session: Session, scope: stats.Scope, metric: object, grouping: object,
                first: object, last: object) -> list[dict[str, Any]]:
    q = stats.counted_query("plans", "Plans", scope, metric, grouping, first, last)
    params = dict(q.params, first=q.first, last=q.last)
    rows = session.execute(text(counts_sql(q.grouping, scope)), params)
    return [stats.row(r.series, stats.label(q.grouping, r.x), round(int(r.taken) / int(r.due), 4))
            for r in rows]
