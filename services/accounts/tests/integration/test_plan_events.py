"""Events from plans about its orders: refunds due and plans cancelled before payment,
published the way plans' outbox relay publishes them (redeliveries included)."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from suivi_common import events
from suivi_common.testing.waiting import wait_for


@pytest.fixture
def member(h: Any) -> dict[str, Any]:
    network = h.new_network()
    return h.new_member(network, "bruno@soleil.test")


def processed(h: Any, message_id: str) -> None:
    """Wait until a handler committed the message (its inbox claim is in that transaction)."""
    wait_for(lambda: h.scalar("SELECT count(*) FROM inbox WHERE message_id = :m", m=message_id),
             what=f"message {message_id} handled")


def refund_event(member: dict[str, Any], payment: dict[str, Any], amount_cents: int,
                 reason: str = "plan withdrawn") -> dict[str, Any]:
    return events.example("plan_refund_due", plan_id=payment["order_id"],
                          user_id=member["user_id"], network_id=member["network_id"],
                          payment_id=payment["id"], order_type=payment["order_type"],
                          order_id=payment["order_id"], amount_cents=amount_cents, reason=reason)


def cancelled_event(member: dict[str, Any], plan_id: str) -> dict[str, Any]:
    return events.example("plan_cancelled", plan_id=plan_id, user_id=member["user_id"],
                          network_id=member["network_id"], tier="premium", start_date=None,
                          end_date=None, records_remaining=150, reason="withdrawal")


def refund_of(h: Any, payment_id: str) -> Any:
    return h.rows("SELECT status, refund_status, refund_amount_cents, refund_due_at FROM payments "
                  "WHERE id = :i", i=payment_id)[0]


def test_refund_due_is_recorded_once_per_payment(h: Any, member: dict[str, Any]) -> None:
    me, staff = h.rpc(member), h.rpc(h.staff())
    plan = me.request_payment("plan", str(uuid.uuid4()), 4500, "transfer", "Plan")
    extension = me.request_payment("plan_extension", str(uuid.uuid4()), 1000, "cheque", "Extension")
    for payment in (plan, extension):
        staff.validate_payment(payment["id"])

    event = refund_event(member, plan, 4500)
    h.publish("plans", "plan_refund_due", event, message_id="m-1")
    h.publish("plans", "plan_refund_due", event, message_id="m-1")  # the relay published it again
    processed(h, "m-1")
    first = refund_of(h, plan["id"])
    assert (first.status, first.refund_status, first.refund_amount_cents) == ("validated", "due", 4500)

    # another fact about the same payment (say, its late validation on a cancelled plan)
    h.publish("plans", "plan_refund_due", dict(event, amount_cents=4000, reason="plan is cancelled"),
              message_id="m-2")
    # never more than was paid
    h.publish("plans", "plan_refund_due", refund_event(member, extension, 1500), message_id="m-3")
    processed(h, "m-2")
    processed(h, "m-3")
    assert refund_of(h, plan["id"]) == first
    assert refund_of(h, extension["id"]).refund_amount_cents == 1000
    due = staff.list_payments(refund_status="due")["items"]
    assert sorted((p["id"], p["refund_amount_cents"]) for p in due) == sorted(
        [(plan["id"], 4500), (extension["id"], 1000)])
    assert h.scalar("SELECT count(*) FROM inbox WHERE handler = 'accounts.on_plan_refund_due'") == 3
    assert staff.list_dead_letters() == []


def test_refund_due_for_an_unknown_payment_is_retried_then_dead_lettered(h: Any) -> None:
    event = {"plan_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "network_id": None,
             "payment_id": str(uuid.uuid4()), "order_type": "plan", "order_id": "x",
             "amount_cents": 4500, "reason": "plan withdrawn"}
    h.publish("plans", "plan_refund_due", event, message_id="m-unknown")
    staff = h.rpc(h.staff())
    letters = wait_for(staff.list_dead_letters, what="a dead letter")
    assert [(d["handler"], d["message_id"], d["attempts"]) for d in letters] == [
        ("accounts.on_plan_refund_due", "m-unknown", 3)]
    assert "unknown payment" in letters[0]["error"]


def test_plan_cancelled_cancels_its_pending_payment_once(h: Any, member: dict[str, Any]) -> None:
    me = h.rpc(member)
    plan_id = str(uuid.uuid4())
    payment = me.request_payment("plan", plan_id, 4500, "card", "Plan")
    h.publish("plans", "plan_cancelled", cancelled_event(member, plan_id), message_id="c-1")
    h.publish("plans", "plan_cancelled", cancelled_event(member, plan_id), message_id="c-1")
    assert h.wait_event("payment_cancelled") == {
        "payment_id": payment["id"], "user_id": member["user_id"], "order_type": "plan",
        "order_id": plan_id}
    assert me.get_payment(payment["id"])["status"] == "cancelled"

    # the cardholder paid anyway: the order stays cancelled, the money is due back
    callback = h.card_outcome(payment["redirect_url"], "succeeded")
    result = h.gateway.record_card_result(callback["payment_id"], callback["provider_ref"],
                                        "succeeded", 4500)
    assert result == {"payment_id": payment["id"], "status": "cancelled", "changed": True}
    late = refund_of(h, payment["id"])
    assert (late.status, late.refund_status, late.refund_amount_cents) == ("cancelled", "due", 4500)

    # told again (a newer snapshot), or about a plan already paid, or unknown: nothing changes
    paid_plan = str(uuid.uuid4())
    paid = me.request_payment("plan", paid_plan, 3000, "transfer", "Plan")
    h.rpc(h.staff()).validate_payment(paid["id"])
    for message_id, plan in (("c-2", plan_id), ("c-3", paid_plan), ("c-4", str(uuid.uuid4()))):
        h.publish("plans", "plan_cancelled", cancelled_event(member, plan), message_id=message_id)
    for message_id in ("c-2", "c-3", "c-4"):
        processed(h, message_id)
    assert refund_of(h, payment["id"]) == late
    assert tuple(refund_of(h, paid["id"]))[:3] == ("validated", None, None)
    assert len(h.events_of("payment_cancelled")) == 1
    assert h.rpc(h.staff()).list_dead_letters() == []
