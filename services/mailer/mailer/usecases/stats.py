"""Statistics of the emails members sent to their leads (admin tool 3, ``emails_sent``):
one set-based statement, grouped in PostgreSQL (``suivi_common.stats``). An email counts
on the Paris day it was sent (office sends and automations alike)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from suivi_common import clock, stats
from suivi_common.errors import Invalid


def counts_sql(grouping: str, scope: stats.Scope) -> str:
    where = stats.scope_sql(scope, network="e.network_id", owner="e.owner_id")
    group = stats.group_sql(grouping, time="e.sent_at", owner="e.owner_id")
    return (f"SELECT 'emails_sent' AS series, {group} AS x, count(*) AS value "
            f"FROM lead_emails e WHERE {where} AND e.status = 'sent' "
            "AND e.sent_at >= :start AND e.sent_at < :end GROUP BY 1, 2")


def stat_counts(session: Session, scope: stats.Scope, metric: object, grouping: object,
                first: object, last: object) -> list[dict[str, Any]]:
    metric, grouping = stats.check_query(metric, grouping)
    if stats.OWNER[metric] != "mailer":
        raise Invalid("The mailer does not count this metric", fields={"metric": metric},
                      code="metric_unknown")
    day_1, day_n = stats.period(first, last, 1, clock.today())
    rows = session.execute(text(counts_sql(grouping, scope)), stats.params(scope, day_1, day_n))
    return [stats.row(r.series, stats.label(grouping, r.x), int(r.value)) for r in rows]
