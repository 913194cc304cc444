"""Statistics of the office's leads (admin tool 3): received, by origin, by status, won
(moved to a final status), refund claims. One set-based statement per query, grouped in
PostgreSQL (``suivi_common.stats``: the vocabulary and the answer's shape).

What counts: the office's live leads (a lead its owner deleted leaves the figures), by
the day they arrived in the office; a won lead by the day of its last status move
(``office_history``; its arrival when it never moved); claims by the day they were made.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from suivi_common import stats

#: metric -> (series expression, time column, extra condition), over ``office_leads l``
_LEADS: dict[str, tuple[str, str, str]] = {
    "leads_received": ("'leads_received'", "l.created_at", ""),
    "leads_by_origin": ("l.origin", "l.created_at", ""),
    "leads_by_status": ("l.status", "l.created_at", ""),
    "leads_final": ("l.status", "w.won_at", " AND l.status = ANY(:final)"),
}
_WON_AT = ("CROSS JOIN LATERAL (SELECT COALESCE((SELECT max(h.changed_at) FROM office_history h "
           "WHERE h.lead_id = l.id AND h.field = 'status'), l.created_at) AS won_at) w")


def counts_sql(metric: str, grouping: str, scope: stats.Scope) -> str:
    if metric == "claims":
        where = stats.scope_sql(scope, network="c.network_id", owner="c.user_id")
        group = stats.group_sql(grouping, time="c.created_at", owner="c.user_id",
                                status="c.status")
        return (f"SELECT 'claims' AS series, {group} AS x, count(*) AS value "
                f"FROM refund_claims c WHERE {where} "
                "AND c.created_at >= :start AND c.created_at < :end GROUP BY 1, 2")
    series, time, extra = _LEADS[metric]
    where = stats.scope_sql(scope, network="l.network_id", owner="l.owner_id")
    group = stats.group_sql(grouping, time=time, owner="l.owner_id", status="l.status",
                            origin="l.origin", kind="l.kind")
    join = f" {_WON_AT}" if metric == "leads_final" else ""
    return (f"SELECT {series} AS series, {group} AS x, count(*) AS value "
            f"FROM office_leads l{join} WHERE {where} AND l.deleted_at IS NULL{extra} "
            f"AND {time} >= :start AND {time} < :end GROUP BY 1, 2")


def stat_counts(session: Session, scope: stats.Scope, metric: object, grouping: object,
                first: object, last: object) -> list[dict[str, Any]]:
    """The metric's counts in the scope over the days ``first``..``last``."""
    q = stats.counted_query("leads", "Leads", scope, metric, grouping, first, last)
    params = dict(q.params, final=list(stats.FINAL_STATUSES))
    rows = session.execute(text(counts_sql(q.metric, q.grouping, scope)), params)
    return [stats.row(r.series, stats.label(q.grouping, r.x), int(r.value)) for r in rows]
