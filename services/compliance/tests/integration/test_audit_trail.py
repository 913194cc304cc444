"""The audit trail over the broker: fed by other services' events, paged and verified by
compliance staff only, tamper-evident, and never forked by racing appends."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from suivi_common import events
from suivi_common.errors import Forbidden, Invalid, Unauthorized
from suivi_common.testing.waiting import wait_for


def decided(claim: str, status: str = "approved") -> dict[str, Any]:
    return events.example("refund_claim_decided", claim_id=claim, status=status,
                          cause="staff_decision")


def feed(h: Any, n: int) -> list[str]:
    ids = []
    for i in range(n):
        mid = h.publish("leads", "refund_claim_decided", decided(f"claim-{i}"))
        h.processed(mid)
        ids.append(mid)
    return ids


def test_an_audited_event_becomes_one_entry_even_when_redelivered(h: Any) -> None:
    payload = decided("claim-1")
    h.publish("leads", "refund_claim_decided", payload, message_id="m-1")
    h.publish("leads", "refund_claim_decided", payload, message_id="m-1")  # relay published twice
    # the two sources have queues of their own: the order of the chain is the order in
    # which the entries were written, so the claim is written first
    h.processed("m-1")
    h.publish("accounts", "payment_validated", events.example(
        "payment_validated", payment_id="p-1", user_id="u-1", network_id=None, order_type="plan",
        order_id="o-1", amount_cents=4500, method="transfer"), message_id="m-2")
    h.processed("m-2")
    h.settled()
    page = h.compliance.audit_log()
    assert [e["kind"] for e in page["items"]] == ["payment.validated", "refund_claim.decided"]
    claim = page["items"][1]
    assert claim["subject"] == {"type": "refund_claim", "id": "claim-1"}
    assert claim["details"]["status"] == "approved"
    assert claim["prev_hash"] == "0" * 64 and page["items"][0]["prev_hash"] == claim["hash"]
    assert h.compliance.audit_verify()["ok"] is True


def test_an_unsigned_event_is_not_logged(h: Any) -> None:
    mid = h.publish("leads", "refund_claim_decided", decided("forged"), signed=False)
    h.settled()
    assert h.scalar("SELECT count(*) FROM inbox WHERE message_id = :m", m=mid) == 0
    assert h.compliance.audit_log()["items"] == []


def test_the_log_pages_newest_first(h: Any) -> None:
    feed(h, 5)
    first = h.compliance.audit_log(limit=2)
    assert [e["seq"] for e in first["items"]] == [5, 4]
    second = h.compliance.audit_log(cursor=first["next_cursor"], limit=2)
    third = h.compliance.audit_log(cursor=second["next_cursor"], limit=2)
    assert [e["seq"] for e in second["items"]] == [3, 2]
    assert [e["seq"] for e in third["items"]] == [1] and third["next_cursor"] is None
    assert h.compliance.audit_log(kind="payment.validated")["items"] == []


def test_bad_paging_is_refused(h: Any) -> None:
    with pytest.raises(Invalid):
        h.compliance.audit_log(limit=501)
    with pytest.raises(Invalid):
        h.compliance.audit_log(cursor="not-a-cursor!")


@pytest.mark.parametrize("who", ["staff", "user", "anonymous"])
def test_only_compliance_staff_read_the_trail(h: Any, who: str) -> None:
    client = {"staff": h.staff, "user": h.user(str(uuid.uuid4()), network_id=str(uuid.uuid4())),
              "anonymous": h.rpc(None)}[who]
    expected = Unauthorized if who == "anonymous" else Forbidden
    with pytest.raises(expected):
        client.audit_log()
    with pytest.raises(expected):
        client.audit_verify()


def test_the_database_refuses_updates_and_deletes(h: Any) -> None:
    feed(h, 1)
    with pytest.raises(Exception, match="append-only"):
        h.execute("UPDATE audit_entries SET kind = 'x'")
    with pytest.raises(Exception, match="append-only"):
        h.execute("DELETE FROM audit_entries")


def tamper(h: Any, sql: str) -> None:
    """What someone with the database owner's rights could do: bypass the trigger."""
    h.execute(f"ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only; {sql}; "
              "ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only")


def test_verify_finds_an_edited_entry(h: Any) -> None:
    feed(h, 4)
    tamper(h, "UPDATE audit_entries SET details = jsonb_set(details, '{status}', '\"rejected\"') "
              "WHERE seq = 2")
    report = h.compliance.audit_verify()
    assert report["ok"] is False
    assert report["problem"]["seq"] == 2 and report["problem"]["problem"] == "edited"
    assert report["entries_checked"] == 1


def test_verify_finds_a_deleted_entry(h: Any) -> None:
    feed(h, 4)
    tamper(h, "DELETE FROM audit_entries WHERE seq = 3")
    report = h.compliance.audit_verify()
    assert report["problem"]["problem"] == "gap" and report["problem"]["seq"] == 3


def test_verify_finds_a_cut_tail(h: Any) -> None:
    feed(h, 3)
    tamper(h, "DELETE FROM audit_entries WHERE seq = 3")
    assert h.compliance.audit_verify()["problem"]["problem"] == "tail_missing"


def test_racing_appends_never_fork_the_chain(h: Any) -> None:
    """Hold the head's lock while five events arrive: all five workers are then blocked at
    the same point, with the same head in view; released, they must still form one chain."""
    n = 5
    with h.engine.connect() as blocker:
        blocker.execute(text("BEGIN"))
        blocker.execute(text("SELECT * FROM audit_head WHERE id = 1 FOR UPDATE"))
        mids = [h.publish("leads", "refund_claim_decided", decided(f"race-{i}")) for i in range(n)]
        wait_for(lambda: h.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%audit_head%'") == n,
            what="five appends waiting on the head")
        blocker.execute(text("ROLLBACK"))
    for mid in mids:
        h.processed(mid)
    rows = h.rows("SELECT seq, prev_hash, hash FROM audit_entries ORDER BY seq")
    assert [r.seq for r in rows] == list(range(1, n + 1))
    assert len({r.prev_hash for r in rows}) == n  # no two entries share a predecessor
    report = h.compliance.audit_verify()
    assert report["ok"] is True and report["entries_checked"] == n
