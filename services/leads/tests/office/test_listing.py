"""Listing an office: every filter (blind indexes for personal data), sorts, cursor pages,
and only the caller's leads."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from leads.office_testing import Harness, deliver, raw_lead, user
from leads.usecases.office import claims, one_lead, queries
from suivi_common import clock
from suivi_common.errors import Invalid

U1 = user("u1")
DAY1 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


def listing(h: Harness, owner: str = "u1", filters: dict[str, Any] | None = None,
            sort: str | None = None, cursor: str | None = None, limit: int = 50,
            network: str = "net-1") -> dict[str, Any]:
    return h.run(queries.list_leads, owner, network, filters, sort, cursor, limit,
                 actor=user(owner, network))


def ids(page: dict[str, Any]) -> list[str]:
    return [i["id"] for i in page["items"]]


@pytest.fixture
def office(h: Harness) -> dict[str, str]:
    """u1: 3 bought leads on 2 days and 2 plans, 1 personal lead; u2: 1 bought lead."""
    clock.freeze(DAY1)
    a = deliver(h, owner_id="u1", plan_id="p1", raw=raw_lead(1, city="Saint-Étienne",
                                                             postal_code="42000"))
    clock.freeze(DAY1 + timedelta(hours=1))
    b = deliver(h, owner_id="u1", plan_id="p2", raw=raw_lead(2, landline="01 44 55 66 77"))
    clock.freeze(DAY1 + timedelta(days=1))
    c = deliver(h, owner_id="u1", plan_id="p1", raw=raw_lead(3, email="Claire.Dupont@Example.fr"))
    clock.freeze(DAY1 + timedelta(days=1, minutes=1))
    d = h.run(one_lead.create_personal, "u1", "net-1", raw_lead(4, city="Lyon",
                                                                postal_code="69001"), actor=U1)["id"]
    other = deliver(h, owner_id="u2", raw=raw_lead(5))
    h.run(one_lead.change_status, "u1", b, "contacted", actor=U1)
    h.run(one_lead.change_status, "u1", c, "client", actor=U1)
    return {"a": a, "b": b, "c": c, "d": d, "other": other}


def test_only_the_callers_leads_newest_first(h: Harness, office: dict[str, str]) -> None:
    page = listing(h)
    assert ids(page) == [office["d"], office["c"], office["b"], office["a"]]
    assert page["next_cursor"] is None
    item = page["items"][1]
    assert item["email"] == "claire.dupont@example.fr" and item["status"] == "client"
    assert item["origin"] == "purchased" and item["plan_id"] == "p1"
    assert ids(listing(h, owner="u2")) == [office["other"]]
    assert ids(listing(h, sort="created_asc")) == [office["a"], office["b"], office["c"],
                                                    office["d"]]


@pytest.mark.parametrize(("filters", "expected"), [
    ({"status": "new"}, ["d", "a"]),
    ({"origin": "personal"}, ["d"]),
    ({"origin": "purchased", "plan_id": "p1"}, ["c", "a"]),
    ({"created_from": "2025-06-03"}, ["d", "c"]),
    ({"created_to": "2025-06-02"}, ["b", "a"]),
    ({"created_from": "2025-06-02", "created_to": "2025-06-02", "status": "contacted"}, ["b"]),
    ({"city": "saint etienne"}, ["a"]),
    ({"city": "SAINT-ÉTIENNE"}, ["a"]),
    ({"postal_code": "69 001"}, ["d"]),
    ({"email": "claire.dupont@EXAMPLE.fr"}, ["c"]),
    ({"email": "lead5@example.fr"}, []),  # u2's lead: not in u1's office
    ({"phone": "0144556677"}, ["b"]),  # national format, matched on the landline
    ({"phone": "+33 6 00 00 00 03"}, ["c"]),
])
def test_filters(h: Harness, office: dict[str, str], filters: dict[str, Any], expected: list[Any]) -> None:
    assert ids(listing(h, filters=filters)) == [office[k] for k in expected]


def test_sort_by_status_follows_the_pipeline_and_pages(h: Harness, office: dict[str, str]) -> None:
    full = ids(listing(h, sort="status"))
    assert full == [office["d"], office["a"], office["b"], office["c"]]  # new, contacted, client
    seen, cursor = [], None
    while True:
        page = listing(h, sort="status", cursor=cursor, limit=1)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == full


def test_pages_walk_the_whole_office_once(h: Harness) -> None:
    clock.freeze(DAY1)
    made = [deliver(h, owner_id="u1", i=i) for i in range(7)]  # same instant: ids break ties
    for sort in ("created_desc", "created_asc"):
        seen, cursor = [], None
        while True:
            page = listing(h, sort=sort, cursor=cursor, limit=3)
            seen += ids(page)
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(made) and len(seen) == 7


def test_bad_parameters(h: Harness, office: dict[str, str]) -> None:
    with pytest.raises(Invalid):
        listing(h, filters={"origin": "stolen"})
    with pytest.raises(Invalid):
        listing(h, filters={"created_from": "yesterday"})
    with pytest.raises(Invalid):
        listing(h, filters={"colour": "blue"})
    with pytest.raises(Invalid):
        listing(h, sort="name")
    token = listing(h, limit=1)["next_cursor"]
    with pytest.raises(Invalid):
        listing(h, sort="status", cursor=token)


def _old_cursor(**body: Any) -> str:
    """A cursor as the office wrote them before ``suivi_common.paging``: a JSON object."""
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


def test_cursors_of_the_old_format_are_a_clean_refusal(h: Harness, office: dict[str, str]) -> None:
    """One cursor format for every listing: a cursor handed out before is refused on the
    cursor field (a 400), never a wrong page or a 500."""
    at, lead = DAY1.isoformat(), office["a"]
    calls = [
        lambda: listing(h, cursor=_old_cursor(k="leads:created_desc", c=at, i=lead)),
        lambda: listing(h, sort="status", cursor=_old_cursor(k="leads:status", c=at, i=lead,
                                                                  s="new")),
        lambda: h.run(one_lead.notes, "u1", lead, _old_cursor(k="notes", c=at, i=lead), 50,
                      actor=U1),
        lambda: h.run(one_lead.lead_history, "u1", lead, _old_cursor(k="history", s=1), 50,
                      actor=U1),
        lambda: h.run(claims.mine, "u1", _old_cursor(k="claims:mine", c=at, i=lead), 50,
                      actor=U1),
    ]
    for call in calls:
        with pytest.raises(Invalid) as caught:
            call()
        assert caught.value.fields == {"cursor": "invalid"}


def test_deleted_leads_leave_the_listing_erased_ones_stay_empty(h: Harness, office: dict[str, str]) -> None:
    h.run(one_lead.delete_lead, "u1", office["a"], actor=U1)
    h.run(one_lead.erase, office["b"])
    page = listing(h)
    assert ids(page) == [office["d"], office["c"], office["b"]]
    erased = page["items"][2]
    assert erased["erased"] is True and erased["email"] is None
    assert ids(listing(h, filters={"phone": "0144556677"})) == []


def test_each_filter_uses_an_index(h: Harness, office: dict[str, str]) -> None:
    """The plans the listing gets on a big office (planner told seq scans are off-limits
    would still pick them if no index matched)."""
    with h.session() as s:
        s.execute(text("SET enable_seqscan = off"))
        for column in ("status", "origin", "plan_id", "postal_bidx", "city_bidx", "email_bidx"):
            plan = "\n".join(r[0] for r in s.execute(text(
                f"EXPLAIN SELECT id FROM office_leads WHERE owner_id = 'u1' AND deleted_at IS NULL"
                f" AND {column} IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 51")))
            assert "Index" in plan and "Seq Scan" not in plan, plan
