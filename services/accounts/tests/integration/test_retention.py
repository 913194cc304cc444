"""The account retention sweep (``usecases.retention``), through its internal RPC on the
moved platform clock: twelve months to the Paris day after the relationship ended, the
same erasure as a data-subject request (what the law keeps stays), ``user_erased`` through
the outbox, idempotent, resumable batch by batch, and who is kept although due."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from accounts.usecases import subscriptions
from suivi_common import clock
from suivi_common.clock import PARIS
from suivi_common.errors import ServiceUnavailable, Unauthorized

PASSWORD = "violet tractor mango river"
ADDRESS = {"line1": "3 rue des Lilas", "postal_code": "69001", "city": "Lyon", "country": "FR"}


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def sweep(h: Any, at: datetime) -> dict[str, Any]:
    """The sweep as an operator (or the timer) runs it, at ``at`` on the platform clock."""
    clock.freeze(at)
    result: dict[str, Any] = h.service("compliance").retention_sweep()
    return result


def expire_on(h: Any, day: date) -> None:
    """Run the expiry just after the Paris midnight that starts ``day``."""
    clock.freeze(paris(day.year, day.month, day.day, 0, 5))
    with Session(h.engine) as session, session.begin():
        subscriptions.expire_due(h.direct_ctx(session))


def member_of(h: Any, network: dict[str, Any], email: str) -> dict[str, Any]:
    member = h.new_member(network, email)
    h.rpc(member).update_me({"phone": "06 12 34 56 78", "address": ADDRESS})
    return member


def email_of(h: Any, user_id: str) -> Any:
    return h.scalar("SELECT email FROM users WHERE id = :i", i=user_id)


def test_an_account_goes_twelve_months_after_its_office_ended_to_the_day(
        h: Any, network: dict[str, Any]) -> None:
    member = member_of(h, network, "bruno@soleil.test")
    uid = member["user_id"]
    h.rpc(member).accept_terms("2026-01", "203.0.113.5")
    h.anon.login("bruno@soleil.test", PASSWORD, "203.0.113.5")
    sub = h.subscribe_by_transfer(member)  # 10 June 2026, monthly: last day 9 July
    expire_on(h, date(2026, 7, 10))  # the office closes on Paris day 10 July 2026

    early = sweep(h, paris(2027, 7, 9, 23, 59))
    assert early["erased"] == 0 and early["ended_before"] == paris(2026, 7, 10).isoformat()
    assert email_of(h, uid) is not None

    on_time = sweep(h, paris(2027, 7, 10, 0, 1))
    assert (on_time["date"], on_time["erased"], on_time["kept"]) == ("2027-07-10", 1, {})
    assert on_time["records"] >= 3  # the account, its session, the acceptance's IP

    # the erasure is a data-subject erasure's: identifiers go, the invoices' identity stays
    row = h.rows("SELECT email, email_index, phone, phone_index, password_hash, first_name, "
                 "last_name, address, status, erased_at, billing_retained_until "
                 "FROM users WHERE id = :i", i=uid)[0]
    assert (row.email, row.email_index, row.phone, row.phone_index, row.password_hash) == \
        (None, None, None, None, None)
    assert None not in (row.first_name, row.last_name, row.address)  # money was taken
    assert row.billing_retained_until == date(2036, 6, 10)  # ten years after the payment
    assert row.status == "terminated" and row.erased_at == paris(2027, 7, 10, 0, 1)
    assert h.scalar("SELECT count(*) FROM sessions WHERE user_id = :i", i=uid) == 0
    assert [tuple(r) for r in h.rows(
        "SELECT version, ip FROM terms_acceptances WHERE user_id = :i", i=uid)] == \
        [("2026-01", None)]  # the proof of the contract, without the address
    assert h.scalar("SELECT status FROM payments WHERE id = :i",
                    i=sub["payment"]["id"]) == "validated"
    assert h.scalar("SELECT status FROM subscriptions WHERE id = :i", i=sub["id"]) == "expired"
    with pytest.raises(Unauthorized):
        h.anon.login("bruno@soleil.test", PASSWORD, "203.0.113.5")

    assert h.events_of("user_erased") == [
        {"user_id": uid, "network_id": network["id"],
         "erased_at": paris(2027, 7, 10, 0, 1).isoformat(), "reason": "retention"}]
    # the office had ended already: nothing else ends with the account
    assert [e["reason"] for e in h.events_of("subscription_ended")] == ["expired"]
    assert h.plans.asked == [[uid]]

    # idempotent: later the same day, the next day, nothing more is erased or told
    assert sweep(h, paris(2027, 7, 10, 13))["erased"] == 0
    assert sweep(h, paris(2027, 7, 11, 0, 1))["erased"] == 0
    assert len(h.events_of("user_erased")) == 1
    assert h.rpc(network["admin"]).get_me()["email"] == "admin@soleil.test"  # admin kept


def test_a_terminated_account_that_never_paid_goes_with_its_names(
        h: Any, network: dict[str, Any]) -> None:
    member = member_of(h, network, "bruno@soleil.test")
    never = member_of(h, network, "carla@soleil.test")  # open, never paid: no end
    h.rpc(member).terminate()  # 10 June 2026
    assert sweep(h, paris(2027, 6, 9, 23, 59))["erased"] == 0
    assert sweep(h, paris(2027, 6, 10, 0, 0))["erased"] == 1
    row = h.rows("SELECT first_name, last_name, address, billing_retained_until, status "
                 "FROM users WHERE id = :i", i=member["user_id"])[0]
    assert tuple(row) == (None, None, None, None, "terminated")
    assert email_of(h, never["user_id"]) is not None
    assert sweep(h, paris(2030, 1, 1, 12))["erased"] == 0  # never paid, still open: kept
    [erased] = h.events_of("user_erased")
    assert erased["user_id"] == member["user_id"] and erased["reason"] == "retention"


def test_who_came_back_or_still_owes_is_kept(h: Any, network: dict[str, Any]) -> None:
    admin = network["admin"]
    people = {name: member_of(h, network, f"{name}@soleil.test")
              for name in ("gone", "back", "ordering", "plan_order", "refund", "suspended",
                           "plan")}
    ids = {name: m["user_id"] for name, m in people.items()}
    for name in ("gone", "back", "ordering", "plan_order", "suspended", "plan"):
        h.subscribe_by_transfer(people[name])  # 10 June 2026, ends 9 July
    h.subscribe_by_transfer(admin)
    refund = h.subscribe_by_transfer(people["refund"])
    h.rpc(people["refund"]).withdraw_subscription(refund["id"])  # within 7 days: refund due
    expire_on(h, date(2026, 7, 10))
    h.rpc(h.staff()).suspend_user(ids["suspended"])  # on 10 July 2026 too

    clock.freeze(paris(2027, 7, 1, 10))  # coming back before the term
    h.subscribe_by_transfer(people["back"])  # runs 1 to 31 July 2027
    h.rpc(people["ordering"]).create_subscription("monthly", "card")  # awaiting payment
    h.rpc(people["plan_order"]).request_payment("plan", str(uuid.uuid4()), 15000, "transfer",
                                                "Forfait Standard")
    h.plans.running.add(ids["plan"])

    result = sweep(h, paris(2027, 7, 10, 8))
    assert result["erased"] == 1
    # re-subscribed or ordering a subscription: the office has not ended (never picked)
    assert result["kept"] == {"administers_network": 1, "order_pending": 1,
                              "plan_running": 1, "refund_due": 1, "suspended": 1}
    assert email_of(h, ids["gone"]) is None
    for name in ("back", "ordering", "plan_order", "refund", "suspended", "plan"):
        assert email_of(h, ids[name]) is not None, name
    assert email_of(h, admin["user_id"]) is not None
    # plans was asked only about the accounts nothing else kept
    assert [sorted(a) for a in h.plans.asked] == [sorted([ids["gone"], ids["plan"]])]
    assert [e["user_id"] for e in h.events_of("user_erased")] == [ids["gone"]]

    # a year on, the admin's network has lost none of them: the admin stays; the suspended
    # account still waits for staff; the refund, once paid, lets its account go
    h.execute("UPDATE payments SET refund_status = 'refunded' WHERE id = :i",
              i=refund["payment"]["id"])
    again = sweep(h, paris(2027, 7, 10, 9))
    assert again["erased"] == 1 and email_of(h, ids["refund"]) is None
    assert "refund_due" not in again["kept"] and again["kept"]["suspended"] == 1


def test_the_sweep_resumes_batch_by_batch(h: Any, network: dict[str, Any],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_RETENTION_BATCH", "2")
    members = [h.new_member(network, f"m{i}@soleil.test") for i in range(5)]
    for member in members:
        h.rpc(member).terminate()  # 10 June 2026
    everyone = sorted(m["user_id"] for m in members)

    h.plans.fail_call = 2  # plans stops answering during the second batch
    with pytest.raises(ServiceUnavailable):
        sweep(h, paris(2027, 6, 10, 0, 30))
    # the first batch is committed with its events; the second rolled back whole
    erased = [str(r.id) for r in h.rows("SELECT id FROM users WHERE erased_at IS NOT NULL "
                                        "ORDER BY id")]
    assert erased == everyone[:2]
    assert sorted(e["user_id"] for e in h.events_of("user_erased")) == everyone[:2]

    h.plans.fail_call = None  # the next tick resumes where the work is left
    result = sweep(h, paris(2027, 6, 10, 1, 30))
    assert result["erased"] == 3
    assert h.plans.asked == [everyone[:2], everyone[2:4], everyone[2:4], everyone[4:]]
    assert sorted(e["user_id"] for e in h.events_of("user_erased")) == everyone
    assert sweep(h, paris(2027, 6, 10, 2, 30))["erased"] == 0
    assert len(h.events_of("user_erased")) == 5
