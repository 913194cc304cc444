"""The monthly stale-lead reminder (``usecases.stale_leads``) against PostgreSQL: who is
due, the month boundary on the Paris day, idempotence and resumption; and the office
filter ``inactive_since`` its e-mail links to (listing and bulk delete agree with it)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from leads.models import office_leads, stale_reminder_runs, stale_reminders
from leads.office_testing import SeparateCtx, deliver, paris, user
from leads.usecases import stale_leads
from leads.usecases.entitlements import record_office
from leads.usecases.office import bulk_delete, one_lead, queries
from suivi_common import clock


def run(h, on: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    clock.freeze(on)
    ctx = SeparateCtx(h.engine)
    result = stale_leads.run(ctx)  # type: ignore[arg-type]
    return result, [p for e, p in ctx.events if e == stale_leads.EVENT]


def stock(h, owner: str, n: int, at: datetime, first: int = 0) -> list[str]:
    clock.freeze(at)
    return [deliver(h, owner_id=owner, i=first + i) for i in range(n)]


def test_who_is_due_and_the_count(h):
    old = stock(h, "u1", 3, paris(2025, 11, 15, 10))
    stock(h, "u1", 1, paris(2025, 12, 2, 10), first=10)            # 12 months on 2 Dec
    stock(h, "u2", 2, paris(2025, 11, 20, 10), first=20)
    stock(h, "u3", 1, paris(2025, 11, 20, 10), first=30)           # office ended: left out
    stock(h, "u4", 1, paris(2026, 6, 1, 10), first=40)             # nothing stale
    with h.session() as s:
        record_office(s, "u3", False, paris(2026, 10, 1, 10))
        s.commit()
    clock.freeze(paris(2026, 5, 1, 10))
    h.run(one_lead.add_note, "u1", old[0], "Rappelé", actor=user("u1"))  # active again
    result, events = run(h, paris(2026, 12, 1, 0, 5))
    assert result["due"] and result["inactive_since"] == "2025-12-02"
    assert [(p["user_id"], p["count"]) for p in events] == [("u1", 2), ("u2", 2)]
    assert events[0] == {"user_id": "u1", "network_id": "net-1", "month": "2026-12-01",
                         "inactive_since": "2025-12-02", "months": 12, "count": 2}
    # the count is what the linked view lists, and what the bulk delete would delete
    listed = h.run(queries.list_leads, "u1", "net-1", {"inactive_since": "2025-12-02"},
                   None, None, 50, actor=user("u1"))
    assert {i["id"] for i in listed["items"]} == set(old[1:])


def test_the_month_starts_on_the_paris_day(h, monkeypatch):
    monkeypatch.setenv("STALE_LEAD_MONTHS", "1")
    stock(h, "u1", 1, paris(2026, 9, 1, 10))
    # 30 November 23:30 UTC is already 1 December in Paris: December's run
    result, events = run(h, datetime.fromisoformat("2026-11-30T23:30:00+00:00"))
    assert result["month"] == "2026-12-01" and len(events) == 1
    result, events = run(h, paris(2026, 12, 31, 23, 59))
    assert not result["due"] and events == []
    result, events = run(h, paris(2027, 1, 1, 0, 1))
    assert result["month"] == "2027-01-01" and [p["month"] for p in events] == ["2027-01-01"]


def test_never_twice_in_a_month(h):
    stock(h, "u1", 2, paris(2025, 1, 10, 10))
    _, first = run(h, paris(2026, 12, 1, 3))
    stock(h, "u2", 1, paris(2025, 1, 10, 10), first=5)  # stale, arrives after the run
    _, again = run(h, paris(2026, 12, 1, 4))
    _, later = run(h, paris(2026, 12, 28, 4))
    _, back = run(h, paris(2026, 11, 15, 4))  # a clock moved back: November never ran
    assert len(first) == 1 and again == later == back == []
    _, january = run(h, paris(2027, 1, 1, 4))
    assert sorted((p["user_id"], p["count"]) for p in january) == [("u1", 2), ("u2", 1)]
    with h.session() as s:
        runs = s.execute(select(stale_reminder_runs.c.month, stale_reminder_runs.c.owners)
                         .order_by(stale_reminder_runs.c.month)).all()
    assert [(m.isoformat(), n) for m, n in runs] == [("2026-12-01", 1), ("2027-01-01", 2)]


def test_a_run_cut_off_resumes_without_reminding_anyone_twice(h, monkeypatch):
    monkeypatch.setenv("STALE_REMINDER_BATCH", "2")
    for n, owner in enumerate(("u1", "u2", "u3", "u4", "u5")):
        stock(h, owner, 1, paris(2025, 1, 10, 10), first=n)
    clock.freeze(paris(2026, 12, 1, 3))
    ctx = SeparateCtx(h.engine)
    calls = {"n": 0}
    real = stale_leads.remind_batch

    def crash_on_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the process died")
        return real(*args, **kwargs)

    monkeypatch.setattr(stale_leads, "remind_batch", crash_on_second)
    try:
        stale_leads.run(ctx)  # type: ignore[arg-type]
    except RuntimeError:
        pass
    monkeypatch.setattr(stale_leads, "remind_batch", real)
    assert [p["user_id"] for _, p in ctx.events] == ["u1", "u2"]
    result, events = run(h, paris(2026, 12, 1, 4))  # the next tick finishes the month
    assert [p["user_id"] for p in events] == ["u3", "u4", "u5"]
    assert result["owners"] == 5
    with h.session() as s:
        assert s.execute(select(stale_reminders.c.owner_id)
                         .order_by(stale_reminders.c.owner_id)).scalars().all() == [
            "u1", "u2", "u3", "u4", "u5"]


def test_listing_and_bulk_delete_share_the_inactive_since_filter(h):
    stale = stock(h, "u1", 2, paris(2025, 1, 10, 10))
    fresh = stock(h, "u1", 1, paris(2025, 6, 10, 10), first=5)
    clock.freeze(paris(2026, 1, 5, 10))
    listed = h.run(queries.list_leads, "u1", "net-1", {"inactive_since": "2025-06-01"},
                   None, None, 50, actor=user("u1"))
    assert {i["id"] for i in listed["items"]} == set(stale)
    everything = h.run(queries.list_leads, "u1", "net-1", {}, None, None, 50, actor=user("u1"))
    assert len(everything["items"]) == 3
    out = h.run(bulk_delete.bulk_delete, "u1", "net-1", {"inactive_since": "2025-06-01"},
                actor=user("u1"))
    assert out == {"deleted": 2, "kept": 0}
    with h.session() as s:
        left = s.execute(select(office_leads.c.id).where(
            office_leads.c.deleted_at.is_(None))).scalars().all()
    assert [str(x) for x in left] == fresh


def test_the_dashboards_count_is_the_listings(h):
    old = stock(h, "u1", 2, paris(2025, 11, 15, 10))
    stock(h, "u1", 1, paris(2025, 12, 2, 10), first=10)
    stock(h, "u2", 1, paris(2025, 11, 15, 10), first=20)  # another owner's
    clock.freeze(paris(2026, 5, 1, 10))
    h.run(one_lead.add_note, "u1", old[0], "Rappelé", actor=user("u1"))
    clock.freeze(paris(2026, 12, 1, 10))
    stale = h.run(stale_leads.owner_stale, "u1", actor=user("u1"))
    assert stale == {"inactive_since": "2025-12-02", "months": 12, "count": 1}
    listed = h.run(queries.list_leads, "u1", "net-1", {"inactive_since": "2025-12-02"},
                   None, None, 50, actor=user("u1"))
    assert len(listed["items"]) == stale["count"]
