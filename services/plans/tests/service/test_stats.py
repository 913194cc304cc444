"""The take rate of plans (admin tool 3, ``plan_take_rate``): taken / due over the closed
days plans applied, per member (named ones, the others in one group) or month."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from plans.models import day_reports, metadata, plans
from plans.usecases import stats as plan_stats
from suivi_common import stats
from suivi_common.identity import Principal
from suivi_common.testing import infra

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_take_rate_is_taken_over_due_of_applied_days(svc_db_url: str) -> None:
    infra.truncate_all(svc_db_url, metadata)
    engine = create_engine(svc_db_url)
    with Session(engine) as s:
        def plan(user: str, network: str = "net-1") -> uuid.UUID:
            plan_id = uuid.uuid4()
            s.execute(plans.insert().values(
                id=plan_id, user_id=user, network_id=network, status="active", tier="standard",
                country="FR", state={}, records_ordered=60, total_cents=0,
                payment_method="card", created_at=NOW, updated_at=NOW))
            return plan_id

        def day(plan_id: uuid.UUID, on: date, taken: int, due: int, status: str = "applied") -> None:
            s.execute(day_reports.insert().values(
                plan_id=plan_id, day=on, taken=taken, shortfall=0, status=status,
                outcome={"quota_due": due, "taken": taken}, received_at=NOW))

        p1, p2, other = plan("u1"), plan("u2"), plan("u9", "net-2")
        day(p1, date(2026, 11, 2), 3, 4)
        day(p1, date(2026, 11, 3), 1, 4)
        day(p1, date(2026, 11, 4), 4, 4, status="pending")
        day(p2, date(2026, 10, 30), 2, 2)
        day(p2, date(2026, 11, 5), 0, 5)
        day(other, date(2026, 11, 2), 5, 5)
        s.commit()

        def rate(principal: Principal, grouping: str, split: list[str] | None = None
                 ) -> dict[tuple[str, str], float]:
            got = plan_stats.stat_counts(s, stats.scope_for(principal, split), "plan_take_rate",
                                         grouping, "2026-10-01", "2026-11-30")
            return {(r["series"], r["x"]): r["value"] for r in got}

        admin = Principal("a1", "admin", "net-1")
        assert rate(admin, "member", ["u1"]) == {("plan_take_rate", "u1"): 0.5,
                                                 ("plan_take_rate", stats.OTHERS): round(2 / 7, 4)}
        assert rate(admin, "month") == {("plan_take_rate", "2026-10"): 1.0,
                                        ("plan_take_rate", "2026-11"): round(4 / 13, 4)}
        assert rate(Principal("u1", "user", "net-1"), "week") == {("plan_take_rate", "2026-W45"): 0.5}
    engine.dispose()
