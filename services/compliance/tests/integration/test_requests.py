"""Data-subject requests over the broker, with fake holding services that consume the
tasks and report (``conftest.FakeHolders``): register, fan out, complete, resume after a
failure without repeating done work, retry late tasks on the platform clock, deny,
extend, receipts, and races on one request."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from compliance.usecases.requests import retry_late
from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from suivi_common.testing.waiting import wait_for

SERVICES = ["accounts", "leads", "mailer", "plans"]
T0 = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def register(h: Any, kind: str = "erasure", email: str | None = "Jean.Dupont@Example.org",
             phone: str | None = "06 12 34 56 78", **extra: Any) -> dict[str, Any]:
    return h.compliance.register_request(kind, email, phone, extra.pop("received_at",
                                                                       T0.isoformat()), **extra)


def status_is(h: Any, request_id: str, status: str) -> dict[str, Any] | None:
    view = h.compliance.get_request(request_id)
    return view if view["status"] == status else None


def wait_status(h: Any, request_id: str, status: str) -> dict[str, Any]:
    return wait_for(lambda: status_is(h, request_id, status), what=f"request {status}")


def tasks_of(tasks: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [t for t in tasks if t["request_id"] == request_id]


@pytest.fixture(autouse=True)
def february(h: Any) -> None:
    clock.set_now(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))


def test_registering_validates_and_normalises(h: Any) -> None:
    view = register(h, note="Reçu par courrier")
    assert view["status"] == "received" and view["kind"] == "erasure"
    assert view["due_on"] == "2026-02-28"  # 31 January + one month
    assert view["email"] == "jean.dupont@example.org" and view["phone"] == "+33612345678"
    assert view["note"] == "Reçu par courrier" and view["tasks"] == []
    stored = h.rows("SELECT email, phone, note FROM dsr_requests")[0]
    assert b"jean" not in bytes(stored.email) and b"+336" not in bytes(stored.phone)
    assert h.compliance.audit_log()["items"][0]["kind"] == "dsr.registered"


@pytest.mark.parametrize(("args", "fields"), [
    (("forget-me", "a@b.fr", None, T0.isoformat()), {"kind"}),
    (("erasure", None, None, T0.isoformat()), {"email", "phone"}),
    (("erasure", "nope", "12", T0.isoformat()), {"email", "phone"}),
    (("erasure", "a@b.fr", None, None), {"received_at"}),
    (("erasure", "a@b.fr", None, "2026-03-01T10:00:00+00:00"), {"received_at"}),  # future
    (("access", "a@b.fr", None, T0.isoformat(), None, {"city": "Lyon"}), {"changes"}),
    (("rectification", "a@b.fr", None, T0.isoformat()), {"changes"}),
])
def test_bad_registrations_are_refused_with_their_fields(h: Any, args: tuple[Any, ...],
                                                         fields: set[str]) -> None:
    with pytest.raises(Invalid) as err:
        h.compliance.register_request(*args)
    assert set(err.value.fields) == fields
    assert h.scalar("SELECT count(*) FROM dsr_requests") == 0


@pytest.mark.parametrize("who", ["staff", "user", "service", "anonymous"])
def test_only_compliance_staff_handle_requests(h: Any, who: str) -> None:
    request = register(h)
    client = {"staff": h.staff, "user": h.user(str(uuid.uuid4())),
              "service": h.as_service("leads"), "anonymous": h.rpc(None)}[who]
    for call in (lambda: client.register_request("erasure", "a@b.fr", None, T0.isoformat()),
                 lambda: client.get_request(request["id"]),
                 lambda: client.process_request(request["id"]),
                 lambda: client.list_requests()):
        with pytest.raises(Unauthorized if who == "anonymous" else Forbidden):
            call()


def test_an_erasure_fans_out_completes_and_leaves_no_trace(h: Any, tasks: list[Any]) -> None:
    request = register(h)
    started = h.compliance.process_request(request["id"])
    assert started["status"] == "in_progress"
    done = wait_status(h, request["id"], "completed")
    sent = tasks_of(tasks, request["id"])
    assert sorted(t["service"] for t in sent) == SERVICES
    for task in sent:  # the person is named by subject indexes only
        assert task["kind"] == "erasure" and task["attempt"] == 1
        assert len(task["email_index"]) == 64 and len(task["phone_index"]) == 64
        assert "jean" not in str(task) and "612345678" not in str(task)
    assert len({t["email_index"] for t in sent}) == 1
    assert [t["records_affected"] for t in done["tasks"]] == [2, 2, 2, 2]
    # the erasure is done everywhere: compliance shreds its own copy too
    assert done["subject_shredded"] and done["email"] is None and done["phone"] is None
    row = h.rows("SELECT email, phone, note FROM dsr_requests")[0]
    assert (row.email, row.phone, row.note) == (None, None, None)
    assert h.scalar("SELECT destroyed_at IS NOT NULL FROM data_keys WHERE scope = :s",
                    s=f"dsr:{request['id']}")
    receipt = h.compliance.request_receipt(request["id"])
    assert receipt["status"] == "completed" and receipt["records_affected"] == 8
    assert [s["service"] for s in receipt["services"]] == SERVICES
    assert all(s["found"] and s["answered_at"] for s in receipt["services"])
    kinds = [e["kind"] for e in h.compliance.audit_log()["items"]]
    assert kinds.count("dsr.task_reported") == 4 and "dsr.processing_started" in kinds
    assert h.compliance.audit_verify()["ok"]


def test_an_access_request_keeps_its_subject(h: Any) -> None:
    request = register(h, kind="access")
    h.compliance.process_request(request["id"])
    done = wait_status(h, request["id"], "completed")
    assert done["email"] == "jean.dupont@example.org" and not done["subject_shredded"]


def test_an_erasure_shreds_the_persons_earlier_requests_too(h: Any) -> None:
    """An earlier objection (or access request) of the person keeps its record and receipt,
    but not whom it named; another person's request and an open one keep their subject."""
    objection = register(h, kind="objection", phone=None)
    h.compliance.process_request(objection["id"])
    wait_status(h, objection["id"], "completed")
    by_phone = register(h, kind="access", email="autre.adresse@example.org")
    h.compliance.process_request(by_phone["id"])
    wait_status(h, by_phone["id"], "completed")
    other = register(h, kind="access", email="someone.else@example.org", phone=None)
    h.compliance.process_request(other["id"])
    wait_status(h, other["id"], "completed")
    still_open = register(h, kind="access")  # received, not processed yet
    erasure = register(h)
    h.compliance.process_request(erasure["id"])
    wait_status(h, erasure["id"], "completed")
    for earlier in (objection, by_phone):  # same e-mail; same phone
        view = h.compliance.get_request(earlier["id"])
        assert view["status"] == "completed" and view["subject_shredded"]
        assert (view["email"], view["phone"]) == (None, None)
        assert h.compliance.request_receipt(earlier["id"])["services"]
        assert h.scalar("SELECT destroyed_at IS NOT NULL FROM data_keys WHERE scope = :s",
                        s=f"dsr:{earlier['id']}")
    assert h.compliance.get_request(other["id"])["email"] == "someone.else@example.org"
    assert h.compliance.get_request(still_open["id"])["email"] == "jean.dupont@example.org"
    shredded = [e for e in h.compliance.audit_log()["items"] if e["kind"] == "dsr.subject_shredded"]
    assert sorted(e["subject"]["id"] for e in shredded) == sorted([objection["id"], by_phone["id"]])
    assert all(e["details"] == {"erasure_request_id": erasure["id"]} for e in shredded)
    assert h.compliance.audit_verify()["ok"]


def test_no_receipt_before_the_request_is_closed(h: Any) -> None:
    request = register(h)
    with pytest.raises(Conflict) as err:
        h.compliance.request_receipt(request["id"])
    assert err.value.code == "request_not_closed"


def test_a_failure_is_resumed_without_repeating_done_work(h: Any, holders: dict[str, str],
                                                          tasks: list[Any]) -> None:
    holders["leads"] = "fail"
    request = register(h)
    h.compliance.process_request(request["id"])
    failed = wait_status(h, request["id"], "failed")
    leads = next(t for t in failed["tasks"] if t["service"] == "leads")
    assert leads["status"] == "failed" and leads["error"] == "database unreachable"
    holders["leads"] = "report"
    resumed = h.compliance.process_request(request["id"])
    assert resumed["status"] == "in_progress"
    done = wait_status(h, request["id"], "completed")
    sent = tasks_of(tasks, request["id"])
    assert sorted(t["service"] for t in sent) == sorted([*SERVICES, "leads"])  # leads twice, only
    assert [t["attempt"] for t in sent if t["service"] == "leads"] == [1, 2]
    assert {t["service"]: t["attempts"] for t in done["tasks"]} == {
        "accounts": 1, "leads": 2, "mailer": 1, "plans": 1}


def test_a_silent_service_shows_late_and_is_asked_again(h: Any, holders: dict[str, str],
                                                        tasks: list[Any]) -> None:
    holders["mailer"] = "silent"
    request = register(h)
    h.compliance.process_request(request["id"])
    wait_for(lambda: len([t for t in h.compliance.get_request(request["id"])["tasks"]
                          if t["status"] == "done"]) == 3, what="three reports")
    assert h.as_timer(retry_late) == 0  # not late yet
    assert not h.compliance.get_request(request["id"])["late"]
    clock.advance(timedelta(minutes=60))
    view = h.compliance.get_request(request["id"])
    assert view["late"] and [t["service"] for t in view["tasks"] if t["late"]] == ["mailer"]
    holders["mailer"] = "report"
    assert h.as_timer(retry_late) == 1
    done = wait_status(h, request["id"], "completed")
    assert [t["attempt"] for t in tasks_of(tasks, request["id"]) if t["service"] == "mailer"] == [1, 2]
    assert not done["late"]
    assert h.as_timer(retry_late) == 0


def test_the_holding_service_asks_for_the_identifiers_while_its_task_is_open(
        h: Any, holders: dict[str, str]) -> None:
    holders["leads"] = "silent"
    request = register(h, kind="rectification", changes={"city": "Lyon"})
    h.compliance.process_request(request["id"])
    wait_for(lambda: len([t for t in h.compliance.get_request(request["id"])["tasks"]
                          if t["status"] == "done"]) == 3, what="three reports")
    subject = h.as_service("leads").dsr_subject(request["id"])
    assert subject == {"request_id": request["id"], "kind": "rectification",
                       "email": "jean.dupont@example.org", "phone": "+33612345678",
                       "changes": {"city": "Lyon"}}
    with pytest.raises(NotFound):  # its task is done
        h.as_service("mailer").dsr_subject(request["id"])
    with pytest.raises(Forbidden):
        h.as_service("gateway").dsr_subject(request["id"])
    with pytest.raises(Forbidden):
        h.compliance.dsr_subject(request["id"])


def test_a_report_for_another_service_or_a_denied_request_changes_nothing(
        h: Any, holders: dict[str, str]) -> None:
    for service in SERVICES:
        holders[service] = "silent"
    request = register(h)
    h.compliance.process_request(request["id"])
    forged = h.publish("leads", "dsr_task_reported", {
        "request_id": request["id"], "service": "mailer", "found": False, "records_affected": 0})
    h.processed(forged)
    assert all(t["status"] == "pending" for t in h.compliance.get_request(request["id"])["tasks"])
    denied = h.compliance.deny_request(request["id"], "Identité non vérifiée")
    assert denied["status"] == "denied" and denied["denied_reason"] == "Identité non vérifiée"
    late = h.publish("leads", "dsr_task_reported", {
        "request_id": request["id"], "service": "leads", "found": True, "records_affected": 5})
    h.processed(late)
    view = h.compliance.get_request(request["id"])
    assert view["status"] == "denied" and all(t["status"] == "pending" for t in view["tasks"])
    assert h.compliance.request_receipt(request["id"])["denied_reason"] == "Identité non vérifiée"


def test_denying_needs_a_reason_and_an_open_request(h: Any) -> None:
    request = register(h)
    with pytest.raises(Invalid):
        h.compliance.deny_request(request["id"], "  ")
    h.compliance.deny_request(request["id"], "Demande manifestement infondée")
    with pytest.raises(Conflict):
        h.compliance.deny_request(request["id"], "again")
    with pytest.raises(Conflict):
        h.compliance.process_request(request["id"])


def test_extensions_move_the_due_date_two_months_at_most(h: Any) -> None:
    request = register(h)
    once = h.compliance.extend_request(request["id"], 1, "Demandes multiples")
    assert once["due_on"] == "2026-03-31" and once["extension_months"] == 1
    twice = h.compliance.extend_request(request["id"], 1, "Complexité")
    assert twice["due_on"] == "2026-04-30"
    assert [e["reason"] for e in twice["extensions"]] == ["Demandes multiples", "Complexité"]
    with pytest.raises(Conflict) as err:
        h.compliance.extend_request(request["id"], 1, "encore")
    assert err.value.code == "extension_exceeded"
    with pytest.raises(Invalid):
        h.compliance.extend_request(register(h)["id"], 1, "")


def test_a_request_past_its_due_date_is_overdue(h: Any) -> None:
    request = register(h)
    assert not request["overdue"]
    clock.set_now(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    assert h.compliance.get_request(request["id"])["overdue"]


def test_unknown_or_malformed_ids_are_not_found(h: Any) -> None:
    for rid in (str(uuid.uuid4()), "nope"):
        with pytest.raises(NotFound):
            h.compliance.get_request(rid)


def test_requests_list_newest_first_by_status(h: Any) -> None:
    ids = [register(h)["id"] for _ in range(3)]
    h.compliance.deny_request(ids[0], "doublon")
    first = h.compliance.list_requests(limit=2)
    assert [r["id"] for r in first["items"]] == [ids[2], ids[1]]
    assert "email" not in first["items"][0]  # the list does not decrypt
    rest = h.compliance.list_requests(cursor=first["next_cursor"], limit=2)
    assert [r["id"] for r in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert [r["id"] for r in h.compliance.list_requests(status="denied")["items"]] == [ids[0]]
    with pytest.raises(Invalid):
        h.compliance.list_requests(status="lost")


def waiting_on(h: Any, table: str, n: int) -> None:
    wait_for(lambda: h.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE :q", q=f"%FROM {table}%") == n,
        what=f"{n} workers waiting on {table}")


def test_reports_racing_complete_the_request_once(h: Any, holders: dict[str, str]) -> None:
    for service in SERVICES:
        holders[service] = "silent"
    request = register(h)
    h.compliance.process_request(request["id"])
    with h.engine.connect() as blocker:
        blocker.execute(text("BEGIN"))
        blocker.execute(text("SELECT 1 FROM dsr_requests WHERE id = :i FOR UPDATE"),
                        {"i": request["id"]})
        mids = [h.publish(s, "dsr_task_reported", {"request_id": request["id"], "service": s,
                                                   "found": True, "records_affected": 1})
                for s in SERVICES]
        waiting_on(h, "dsr_requests", len(SERVICES))
        blocker.execute(text("ROLLBACK"))
    for mid in mids:
        h.processed(mid)
    assert h.compliance.get_request(request["id"])["status"] == "completed"
    reports = [e for e in h.compliance.audit_log()["items"] if e["kind"] == "dsr.task_reported"]
    assert [e["details"].get("request_status") for e in reports].count("completed") == 1
    assert h.compliance.audit_verify()["ok"]


def test_processing_twice_at_once_sends_each_task_once(h: Any, holders: dict[str, str],
                                                       tasks: list[Any]) -> None:
    for service in SERVICES:
        holders[service] = "silent"
    request = register(h)
    with h.engine.connect() as blocker:
        blocker.execute(text("BEGIN"))
        blocker.execute(text("SELECT 1 FROM dsr_requests WHERE id = :i FOR UPDATE"),
                        {"i": request["id"]})
        calls = [h.compliance.process_request.call_async(request["id"]) for _ in range(2)]
        waiting_on(h, "dsr_requests", 2)
        blocker.execute(text("ROLLBACK"))
    outcomes = []
    for call in calls:
        try:
            outcomes.append(call.result()["status"])
        except Conflict as err:
            outcomes.append(err.code)
    assert sorted(outcomes) == ["in_progress", "not_processable"]
    wait_for(lambda: len(tasks_of(tasks, request["id"])) >= 4, what="four tasks")
    h.settled()
    assert sorted(t["service"] for t in tasks_of(tasks, request["id"])) == SERVICES


def test_a_request_read_as_its_erasure_completes_shows_no_subject(h: Any) -> None:
    """The read saw the row before the erasure committed, the key after: what a reader
    racing the last report meets. It answers "shredded", not an error."""
    request = register(h)
    scope = f"dsr:{request['id']}"
    h.as_timer(lambda ctx: ctx.vault.destroy(scope))  # the key alone, as the erasure does
    view = h.compliance.get_request(request["id"])
    assert (view["email"], view["phone"], view["status"]) == (None, None, "received")
