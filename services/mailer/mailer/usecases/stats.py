"""Statistics of the emails members sent to their leads (admin tool 3, ``emails_sent``):
one set-based statement, grouped in PostgreSQL (``suivi_common.stats``). An email counts
on the Paris day it was sent (office sends and automations alike)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from suivi_common import stats


def counts_sql(grouping: str, scope: stats.Scope) -> str:
    where = stats.scope_sql(scope, network="e.network_id", owner="e.owner_id")
    group = stats.group_sql(grouping, time="e.sent_at", owner="e.owner_id")
    return (f"SELECT 'emails_sent' AS series, {group} AS x, count(*) AS value "
            f"FROM lead_emails e WHERE {where} AND e.status = 'sent' "
            "AND e.sent_at >= :start AND e.sent_at < :end GROUP BY 1, 2")


def stat_counts(session: Session, scope: stats.Scope, metric: object, grouping: object,
                first: object, last: object) -> list[dict[str, Any]]:
    q = stats.counted_query("mailer", "The mailer", scope, metric, grouping, first, last)
    rows = session.execute(text(counts_sql(q.grouping, scope)), q.params)
    return [stats.row(r.series, stats.label(q.grouping, r.x), int(r.value)) for r in rows]
