"""The emails members sent (admin tool 3, ``emails_sent``), counted set-based: sent ones
only, on their Paris day, a member's own or the admin's network (named members one by
one, the others in one group)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from mailer.models import lead_emails
from mailer.usecases import stats as mail_stats
from suivi_common import stats
from suivi_common.identity import Principal


def test_sent_emails_are_counted_per_member_and_week(clean_db: str) -> None:
    engine = create_engine(clean_db)
    rows = [("u1", "sent", datetime(2026, 11, 2, 9, tzinfo=UTC)),
            ("u1", "sent", datetime(2026, 11, 10, 9, tzinfo=UTC)),
            ("u1", "failed", datetime(2026, 11, 10, 9, tzinfo=UTC)),
            ("u2", "sent", datetime(2026, 11, 29, 23, 30, tzinfo=UTC)),  # 30 Nov in Paris
            ("u3", "sent", datetime(2026, 11, 3, 9, tzinfo=UTC))]
    with Session(engine) as s:
        for owner, status, when in rows:
            s.execute(lead_emails.insert().values(
                id=uuid.uuid4(), lead_id=uuid.uuid4(), owner_id=owner,
                network_id="net-2" if owner == "u3" else "net-1", origin="office",
                status=status, due_at=when, created_at=when,
                sent_at=when if status == "sent" else None))
        s.commit()

        def counts(principal: Principal, grouping: str, split: list[str] | None = None
                   ) -> dict[tuple[str, str], int]:
            got = mail_stats.stat_counts(s, stats.scope_for(principal, split), "emails_sent",
                                         grouping, "2026-11-01", "2026-11-30")
            return {(r["series"], r["x"]): r["value"] for r in got}

        admin = Principal("a1", "admin", "net-1")
        assert counts(admin, "member", ["u1"]) == {("emails_sent", "u1"): 2,
                                                   ("emails_sent", stats.OTHERS): 1}
        assert counts(admin, "week") == {("emails_sent", "2026-W45"): 1,
                                         ("emails_sent", "2026-W46"): 1,
                                         ("emails_sent", "2026-W49"): 1}
        assert counts(Principal("u2", "user", "net-1"), "month") == {("emails_sent", "2026-11"): 1}
    engine.dispose()
