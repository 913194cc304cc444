"""The office's statistics (admin tool 3), counted set-based in PostgreSQL: a member's own
leads only, the admin's network with members one by one only when named (the others in
one group), Paris weeks and months, won leads by their last status move, claims."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from leads.models import office_history, office_leads, refund_claims
from leads.office_testing import Harness, paris
from leads.usecases import stats as lead_stats
from suivi_common import clock, stats
from suivi_common.errors import Forbidden, Invalid
from suivi_common.identity import Principal
from suivi_common.permissions import PermissionDenied

NET = "net-1"
ADMIN = Principal("admin-1", "admin", NET)


def put(h: Harness, owner: str, when: datetime, *, status: str = "new", origin: str = "personal",
        network: str = NET, deleted: bool = False, moved_at: datetime | None = None,
        claim: str | None = None, kind: str = "construction") -> uuid.UUID:
    lead_id = uuid.uuid4()
    with h.session() as s:
        s.execute(office_leads.insert().values(
            id=lead_id, owner_id=owner, network_id=network, origin=origin, status=status,
            kind=kind, created_at=when, updated_at=when, deleted_at=when if deleted else None))
        if moved_at is not None:
            s.execute(office_history.insert().values(
                id=uuid.uuid4(), lead_id=lead_id, field="status", actor_id=owner,
                source="user", via="status", changed_at=moved_at))
        if claim is not None:
            s.execute(refund_claims.insert().values(
                id=uuid.uuid4(), lead_id=lead_id, user_id=owner, network_id=network,
                plan_id="p1", reason="unreachable", status=claim, created_at=when))
        s.commit()
    return lead_id


def counts(h: Harness, principal: Principal, metric: str, grouping: str,
           first: str = "2026-11-01", last: str = "2026-11-30",
           split: list[str] | None = None) -> dict[tuple[str, str], Any]:
    with h.session() as s:
        rows = lead_stats.stat_counts(s, stats.scope_for(principal, split), metric, grouping,
                                      first, last)
    return {(r["series"], r["x"]): r["value"] for r in rows}


@pytest.fixture
def november(h: Harness) -> None:
    """u1: 3 leads (one won in December, one deleted); u2: 2 leads, one with a claim;
    another network's lead; a lead of u1 on 1 December 00:30 in Paris (30 Nov in UTC)."""
    clock.freeze(paris(2026, 12, 3, 9))
    put(h, "u1", paris(2026, 11, 2, 10), origin="purchased")
    put(h, "u1", paris(2026, 11, 9, 10), status="client", moved_at=paris(2026, 12, 1, 10))
    put(h, "u1", paris(2026, 11, 9, 11), deleted=True)
    put(h, "u2", paris(2026, 11, 16, 10), origin="purchased", claim="pending")
    put(h, "u2", paris(2026, 11, 30, 23, 59), status="distributor",
        moved_at=paris(2026, 11, 30, 23, 59))
    put(h, "u9", paris(2026, 11, 3, 10), network="net-2")
    put(h, "u1", paris(2026, 12, 1, 0, 30))
    yield
    clock.reset()


def test_a_member_counts_only_their_own_live_leads(h: Harness, november: None) -> None:
    u1 = Principal("u1", "user", NET)
    assert counts(h, u1, "leads_received", "member", split=["u2"]) == {("leads_received", "u1"): 2}
    assert counts(h, u1, "leads_by_origin", "week") == {
        ("purchased", "2026-W45"): 1, ("personal", "2026-W46"): 1}


def test_the_admin_sees_named_members_and_folds_the_others(h: Harness, november: None) -> None:
    assert counts(h, ADMIN, "leads_received", "member", split=["u1"]) == {
        ("leads_received", "u1"): 2, ("leads_received", stats.OTHERS): 2}
    assert counts(h, ADMIN, "leads_received", "member", split=[]) == {
        ("leads_received", stats.OTHERS): 4}
    assert counts(h, ADMIN, "leads_by_status", "month") == {
        ("new", "2026-11"): 2, ("client", "2026-11"): 1, ("distributor", "2026-11"): 1}
    assert counts(h, ADMIN, "leads_received", "origin") == {
        ("leads_received", "purchased"): 2, ("leads_received", "personal"): 2}


def test_leads_are_counted_by_office_kind(h: Harness, november: None) -> None:
    """Issue 13 §1: the office's leads carry a kind, and the leads metrics group by it."""
    put(h, "u2", paris(2026, 11, 20, 10), origin="site", kind="distribution")
    assert counts(h, ADMIN, "leads_received", "kind") == {
        ("leads_received", "construction"): 4, ("leads_received", "distribution"): 1}
    assert counts(h, ADMIN, "leads_by_origin", "kind") == {
        ("purchased", "construction"): 2, ("personal", "construction"): 2,
        ("site", "distribution"): 1}
    with pytest.raises(Invalid):
        counts(h, ADMIN, "claims", "kind")


def test_paris_days_bound_the_period(h: Harness, november: None) -> None:
    december_first = counts(h, ADMIN, "leads_received", "month", "2026-12-01", "2026-12-01")
    assert december_first == {("leads_received", "2026-12"): 1}
    assert counts(h, ADMIN, "leads_received", "week", "2026-11-30", "2026-11-30") == {
        ("leads_received", "2026-W49"): 1}


def test_won_leads_count_on_the_day_of_their_last_move(h: Harness, november: None) -> None:
    assert counts(h, ADMIN, "leads_final", "month") == {("distributor", "2026-11"): 1}
    assert counts(h, ADMIN, "leads_final", "month", "2026-11-01", "2026-12-31") == {
        ("distributor", "2026-11"): 1, ("client", "2026-12"): 1}


def test_claims_by_status_and_member(h: Harness, november: None) -> None:
    assert counts(h, ADMIN, "claims", "status") == {("claims", "pending"): 1}
    assert counts(h, Principal("u1", "user", NET), "claims", "member") == {}


def test_refusals(h: Harness, november: None) -> None:
    with pytest.raises(Forbidden):
        counts(h, Principal("mailer", "service"), "leads_received", "week")
    with pytest.raises(PermissionDenied):
        counts(h, Principal("u1", "user", NET, ("take_leads",)), "leads_received", "week")
    with pytest.raises(Invalid) as err:
        counts(h, ADMIN, "emails_sent", "week")
    assert err.value.code == "metric_unknown"
    with pytest.raises(Invalid) as err:
        counts(h, ADMIN, "leads_by_origin", "origin")
    assert err.value.code == "grouping_not_supported"
    with pytest.raises(Invalid) as err:
        counts(h, ADMIN, "leads_received", "week", "2026-12-01", "2026-11-01")
    assert err.value.code == "period_invalid"


def test_the_network_query_uses_the_statistics_index(h: Harness, november: None) -> None:
    sql = lead_stats.counts_sql("leads_received", "week", stats.Scope(NET, None, ()))
    with h.session() as s:
        s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in s.execute(text("EXPLAIN " + sql), {
            "network": NET, "owner": None, "split": [], "start": paris(2026, 11, 1),
            "end": paris(2026, 12, 1), "final": []}))
    assert "ix_office_network_created" in plan
