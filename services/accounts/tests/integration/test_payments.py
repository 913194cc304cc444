"""Subscriptions and payments: transfer, card through the real fake provider,
idempotent results, withdrawal, renewal, expiry, account end."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from nameko import config as nameko_config
from sqlalchemy.orm import Session

from accounts.usecases import subscriptions
from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized


@pytest.fixture
def member(h: Any) -> dict[str, Any]:
    network = h.new_network()
    return h.new_member(network, "bruno@soleil.test")


def test_transfer_subscription_validated_by_staff_becomes_active(h: Any, member: dict[str, Any]) -> None:
    me = h.rpc(member)
    sub = me.create_subscription("quarterly", "transfer")
    assert sub["status"] == "pending_payment" and sub["period"] == "quarterly"
    assert sub["amount_cents"] == 7900
    assert sub["payment"]["method"] == "transfer" and sub["payment"]["status"] == "pending"
    assert h.service().office_active(member["user_id"]) is False

    payment = h.rpc(h.staff()).validate_payment(sub["payment"]["id"])
    assert payment["status"] == "validated" and payment["validated_at"]
    validated = h.wait_event("payment_validated")
    assert validated == {"payment_id": sub["payment"]["id"], "user_id": member["user_id"],
                         "network_id": member["network_id"], "order_type": "subscription",
                         "order_id": sub["id"], "amount_cents": 7900, "method": "transfer",
                         "validated_at": payment["validated_at"]}
    activated = h.wait_event("subscription_activated")
    today = clock.today()
    assert activated["subscription_id"] == sub["id"] and activated["period"] == "quarterly"
    assert activated["starts_on"] == today.isoformat()
    assert date.fromisoformat(activated["ends_on"]) > today + timedelta(days=85)
    assert h.service().office_active(member["user_id"]) is True
    assert me.get_me()["subscription"]["status"] == "active"
    assert [s["id"] for s in me.list_subscriptions()["items"]] == [sub["id"]]

    with pytest.raises(Conflict) as err:
        h.rpc(h.staff()).validate_payment(sub["payment"]["id"])
    assert err.value.code == "payment_already_validated"


def test_senders_answers_get_user_and_office_active_for_a_batch_to_services_only(
        h: Any, member: dict[str, Any]) -> None:
    """The batch the mailer asks once per batch of emails: each user's ``get_user``
    answer with its ``office_active``, an unknown or malformed id left out."""
    other = h.new_member(h.new_network("Réseau Lune", "admin@lune.test"), "chloe@lune.test")
    sub = h.rpc(member).create_subscription("monthly", "transfer")
    h.rpc(h.staff()).validate_payment(sub["payment"]["id"])
    h.wait_event("subscription_activated")
    mailer = h.service("mailer")
    found = mailer.senders([member["user_id"], other["user_id"], "not-a-uuid",
                            "00000000-0000-4000-8000-000000000000", member["user_id"]])
    assert found == {
        member["user_id"]: {"user": mailer.get_user(member["user_id"]), "office_active": True},
        other["user_id"]: {"user": mailer.get_user(other["user_id"]), "office_active": False}}
    assert mailer.office_active(other["user_id"]) is False
    assert mailer.senders([]) == {}
    with pytest.raises(Invalid):
        mailer.senders([member["user_id"]] * 501)
    with pytest.raises(Forbidden):
        h.rpc(member).senders([member["user_id"]])
    with pytest.raises(Unauthorized):
        h.anon.senders([member["user_id"]])


def test_payment_methods(h: Any, member: dict[str, Any]) -> None:
    with pytest.raises(Invalid) as err:
        h.rpc(member).create_subscription("monthly", "mandate")
    assert err.value.code == "payment_method_unsupported" and "payment_method" in err.value.fields
    with pytest.raises(Invalid):
        h.rpc(member).create_subscription("monthly", "bitcoin")
    with pytest.raises(Invalid):
        h.rpc(member).create_subscription("weekly", "card")
    assert h.scalar("SELECT count(*) FROM payments") == 0


def test_card_flow_with_the_provider_and_idempotent_result(h: Any, member: dict[str, Any]) -> None:
    sub = h.rpc(member).create_subscription("monthly", "card")
    payment = sub["payment"]
    assert payment["status"] == "pending" and payment["redirect_url"].startswith(h.provider.base_url)
    ref = h.scalar("SELECT provider_ref FROM payments WHERE id = :i", i=payment["id"])
    assert h.provider.payments[ref].callback_url == f"{h.public_url}/api/payments/card-callback"
    assert h.provider.payments[ref].amount_cents == 2900

    callback = h.card_outcome(payment["redirect_url"], "succeeded")
    assert callback["payment_id"] == payment["id"]
    gateway = h.gateway  # the gateway calls as itself, after checking the signature
    args = (callback["payment_id"], callback["provider_ref"], callback["status"], callback["amount_cents"])
    assert gateway.record_card_result(*args) == {"payment_id": payment["id"], "status": "validated",
                                                 "changed": True}
    assert gateway.record_card_result(*args)["changed"] is False
    h.wait_event("subscription_activated")
    assert len(h.events_of("payment_validated")) == 1
    assert len(h.events_of("subscription_activated")) == 1
    assert h.service().office_active(member["user_id"]) is True


def test_card_result_must_match_the_payment(h: Any, member: dict[str, Any]) -> None:
    sub = h.rpc(member).create_subscription("monthly", "card")
    callback = h.card_outcome(sub["payment"]["redirect_url"], "succeeded")
    gateway = h.gateway
    with pytest.raises(Invalid):
        gateway.record_card_result(callback["payment_id"], "cp_forged", "succeeded", 2900)
    with pytest.raises(Invalid):
        gateway.record_card_result(callback["payment_id"], callback["provider_ref"], "succeeded", 1)
    with pytest.raises(NotFound):
        gateway.record_card_result("00000000-0000-0000-0000-000000000000", "x", "succeeded", 2900)
    assert h.scalar("SELECT status FROM payments") == "pending"


def test_declined_card_cancels_the_order(h: Any, member: dict[str, Any]) -> None:
    sub = h.rpc(member).create_subscription("monthly", "card")
    callback = h.card_outcome(sub["payment"]["redirect_url"], "failed")
    result = h.gateway.record_card_result(callback["payment_id"], callback["provider_ref"], "failed", 2900)
    assert result == {"payment_id": sub["payment"]["id"], "status": "failed", "changed": True}
    assert h.rpc(member).list_subscriptions()["items"][0]["status"] == "cancelled"
    assert h.rpc(member).create_subscription("monthly", "transfer")["status"] == "pending_payment"


def test_provider_down_refuses_the_order_and_keeps_nothing(h: Any, member: dict[str, Any]) -> None:
    with nameko_config.patch({"CARD_PROVIDER_URL": "http://127.0.0.1:9"}, clear=False):
        with pytest.raises(Conflict) as err:
            h.rpc(member).create_subscription("monthly", "card")
    assert err.value.code == "payment_provider_unavailable"
    assert h.scalar("SELECT count(*) FROM payments") == 0
    assert h.scalar("SELECT count(*) FROM subscriptions") == 0


def test_one_order_awaiting_payment_at_a_time(h: Any, member: dict[str, Any]) -> None:
    me = h.rpc(member)
    first = me.create_subscription("monthly", "transfer")
    with pytest.raises(Conflict) as err:
        me.create_subscription("annual", "cheque")
    assert err.value.code == "subscription_payment_pending"
    cancelled = me.withdraw_subscription(first["id"])
    assert cancelled["status"] == "cancelled" and cancelled["payment"]["status"] == "cancelled"
    me.create_subscription("annual", "cheque")


def test_renewal_starts_when_the_current_one_ends(h: Any, member: dict[str, Any]) -> None:
    first = h.subscribe_by_transfer(member, "monthly")
    first_end = date.fromisoformat(h.wait_event("subscription_activated")["ends_on"])
    second = h.subscribe_by_transfer(member, "monthly")
    renewal = h.wait_event("subscription_activated", lambda p: p["subscription_id"] == second["id"])
    assert renewal["starts_on"] == (first_end + timedelta(days=1)).isoformat()
    assert h.rpc(member).get_me()["subscription"]["id"] == first["id"]


def test_withdrawal_within_seven_days_refunds(h: Any, member: dict[str, Any]) -> None:
    sub = h.subscribe_by_transfer(member)
    clock.advance(timedelta(days=5))
    withdrawn = h.rpc(member).withdraw_subscription(sub["id"])
    assert withdrawn["status"] == "withdrawn" and withdrawn["end_reason"] == "withdrawn"
    assert withdrawn["payment"]["refund_status"] == "due"
    assert withdrawn["payment"]["refund_amount_cents"] == 2900
    ended = h.wait_event("subscription_ended")
    assert ended["subscription_id"] == sub["id"] and ended["reason"] == "withdrawn"
    assert h.service().office_active(member["user_id"]) is False
    staff_view = h.rpc(h.staff()).list_payments(refund_status="due")
    assert [p["id"] for p in staff_view["items"]] == [sub["payment"]["id"]]


def test_staff_mark_a_due_refund_refunded(h: Any, member: dict[str, Any]) -> None:
    sub = h.subscribe_by_transfer(member)
    staff = h.rpc(h.staff())
    payment_id = sub["payment"]["id"]
    with pytest.raises(Conflict) as err:  # validated, nothing due yet
        staff.mark_refunded(payment_id, "VIR-2026-0042")
    assert err.value.code == "refund_not_due"
    h.rpc(member).withdraw_subscription(sub["id"])
    with pytest.raises(Invalid):
        staff.mark_refunded(payment_id, "  ")
    with pytest.raises(Forbidden):
        h.rpc(member).mark_refunded(payment_id, "VIR-2026-0042")
    done = staff.mark_refunded(payment_id, " VIR-2026-0042 ")
    assert done["refund_status"] == "refunded" and done["refund_reference"] == "VIR-2026-0042"
    assert done["refunded_at"] is not None
    made = h.wait_event("refund_made")
    assert made["payment_id"] == payment_id and made["amount_cents"] == 2900
    assert staff.mark_refunded(payment_id, "VIR-2026-0042") == done  # the same click again
    with pytest.raises(Conflict) as err:
        staff.mark_refunded(payment_id, "VIR-2026-0099")
    assert err.value.code == "refund_already_made"
    assert [p["id"] for p in staff.list_payments("refunded")["items"]] == [payment_id]
    assert staff.list_payments(refund_status="due")["items"] == []
    assert h.rpc(member).get_payment(payment_id)["refund_status"] == "refunded"


def test_withdrawal_after_the_window_is_refused(h: Any, member: dict[str, Any]) -> None:
    paris_noon_monday = datetime.combine(date(2026, 3, 2), time(12), tzinfo=clock.PARIS)
    clock.freeze(paris_noon_monday)
    sub = h.subscribe_by_transfer(member)
    clock.freeze(datetime.combine(date(2026, 3, 9), time(23, 59), tzinfo=clock.PARIS))
    h.rpc(member).withdraw_subscription(sub["id"])  # last day still counts

    again = h.subscribe_by_transfer(member)
    clock.freeze(datetime.combine(date(2026, 3, 17), time(0, 1), tzinfo=clock.PARIS))
    with pytest.raises(Conflict) as err:
        h.rpc(member).withdraw_subscription(again["id"])
    assert err.value.code == "withdrawal_window_closed"


def test_withdrawal_refused_once_a_paid_service_was_delivered(h: Any, member: dict[str, Any]) -> None:
    sub = h.subscribe_by_transfer(member)
    plan = h.rpc(member).request_payment("plan", "plan-123", 4500, "transfer", "Plan Premium 150 leads")
    assert plan["status"] == "pending" and plan["order_type"] == "plan"
    h.rpc(h.staff()).validate_payment(plan["id"])
    with pytest.raises(Conflict) as err:
        h.rpc(member).withdraw_subscription(sub["id"])
    assert err.value.code == "withdrawal_service_started"


def test_request_payment_is_idempotent_per_order(h: Any, member: dict[str, Any]) -> None:
    me = h.rpc(member)
    first = me.request_payment("plan", "plan-9", 4500, "transfer", "Plan")
    assert me.request_payment("plan", "plan-9", 4500, "transfer", "Plan")["id"] == first["id"]
    replaced = me.request_payment("plan", "plan-9", 6000, "cheque", "Plan, extended")
    assert replaced["id"] != first["id"]
    assert h.wait_event("payment_cancelled")["payment_id"] == first["id"]
    h.rpc(h.staff()).validate_payment(replaced["id"])
    with pytest.raises(Conflict) as err:
        me.request_payment("plan", "plan-9", 6000, "cheque", "Plan, extended")
    assert err.value.code == "order_already_paid"
    with pytest.raises(Invalid) as err:
        me.request_payment("plan", "plan-10", 100, "mandate", "Plan")
    assert err.value.code == "payment_method_unsupported"
    with pytest.raises(Invalid):
        me.request_payment("subscription", "x", 100, "card", "sneaky")


def test_payments_are_private(h: Any, member: dict[str, Any]) -> None:
    payment = h.rpc(member).request_payment("plan", "plan-1", 4500, "card", "Plan")
    assert payment["redirect_url"]
    assert h.rpc(member).get_payment(payment["id"])["id"] == payment["id"]
    network_b = h.new_network("Réseau Lune", "admin@lune.test")
    with pytest.raises(NotFound):
        h.rpc(network_b["admin"]).get_payment(payment["id"])
    assert h.rpc(h.staff()).get_payment(payment["id"])["id"] == payment["id"]
    with pytest.raises(Forbidden):
        h.rpc(member).list_payments()
    listed = h.rpc(h.staff()).list_payments(status="pending", limit=1)
    assert [p["id"] for p in listed["items"]] == [payment["id"]] and listed["next_cursor"] is None
    with pytest.raises(Invalid):
        h.rpc(h.staff()).list_payments(limit=501)


def test_expiry_timer_logic_with_a_frozen_clock(h: Any, member: dict[str, Any]) -> None:
    clock.freeze(datetime.combine(date(2026, 1, 31), time(10), tzinfo=clock.PARIS))
    sub = h.subscribe_by_transfer(member, "monthly")
    assert h.wait_event("subscription_activated")["ends_on"] == "2026-02-28"

    def run_expiry() -> int:
        with Session(h.engine) as session, session.begin():
            return subscriptions.expire_due(h.direct_ctx(session))

    clock.freeze(datetime.combine(date(2026, 2, 28), time(23, 30), tzinfo=clock.PARIS))
    assert run_expiry() == 0
    assert h.service().office_active(member["user_id"]) is True
    clock.freeze(datetime.combine(date(2026, 3, 1), time(0, 5), tzinfo=clock.PARIS))
    assert run_expiry() == 1
    assert run_expiry() == 0
    ended = h.wait_event("subscription_ended")
    assert ended == {"subscription_id": sub["id"], "user_id": member["user_id"],
                     "network_id": member["network_id"], "reason": "expired", "office_active": False}
    assert h.service().office_active(member["user_id"]) is False
    assert h.rpc(member).list_subscriptions()["items"][0]["status"] == "expired"


def test_terminate_ends_subscription_without_refund(h: Any, member: dict[str, Any]) -> None:
    sub = h.subscribe_by_transfer(member)
    token = h.anon.login("bruno@soleil.test", "violet tractor mango river", "203.0.113.5")["token"]
    h.rpc(member).terminate()
    ended = h.wait_event("subscription_ended")
    assert ended["subscription_id"] == sub["id"] and ended["reason"] == "terminated"
    assert h.scalar("SELECT refund_status FROM payments") is None
    assert h.scalar("SELECT status FROM users WHERE id = :i", i=member["user_id"]) == "terminated"
    with pytest.raises(Unauthorized) as err:
        h.gateway.authenticate(token)
    assert err.value.code == "token_revoked"
    with pytest.raises(Forbidden) as err:
        h.anon.login("bruno@soleil.test", "violet tractor mango river", "203.0.113.5")
    assert err.value.code == "account_closed"


def test_staff_closing_an_account_ends_its_subscription(h: Any, member: dict[str, Any]) -> None:
    sub = h.subscribe_by_transfer(member)
    h.rpc(h.staff()).close_user(member["user_id"])
    ended = h.wait_event("subscription_ended")
    assert ended["subscription_id"] == sub["id"] and ended["reason"] == "closed"
    assert h.service().office_active(member["user_id"]) is False


def test_a_subscription_covers_a_kind_or_both_at_that_kinds_price(
        h: Any, member: dict[str, Any]) -> None:
    """Issue 13 §1: a subscription is for one office kind or both, priced per kind
    (``SUBSCRIPTION_PRICES_CENTS_BOTH``...); without a kind it is construction, the office
    sold before kinds. ``office_kinds`` tells plans what a member may buy."""
    me, service = h.rpc(member), h.service()
    assert service.office_kinds(member["user_id"]) == []
    with pytest.raises(Invalid) as err:
        me.create_subscription("monthly", "transfer", "shop")
    assert err.value.code == "kind_unknown"
    first = me.create_subscription("monthly", "transfer")
    assert first["kind"] == "construction" and first["amount_cents"] == 2900
    h.rpc(h.staff()).validate_payment(first["payment"]["id"])
    assert h.wait_event("subscription_activated",
                        lambda p: p["subscription_id"] == first["id"])["kind"] == "construction"
    assert service.office_kinds(member["user_id"]) == ["construction"]

    other = h.new_member(h.new_network("Réseau Lune", "admin@lune.test"), "carla@lune.test")
    both = h.rpc(other).create_subscription("monthly", "transfer", "both")
    assert both["kind"] == "both" and both["amount_cents"] == 4900
    assert service.office_kinds(other["user_id"]) == []  # not paid yet
    h.rpc(h.staff()).validate_payment(both["payment"]["id"])
    assert h.wait_event("subscription_activated",
                        lambda p: p["subscription_id"] == both["id"])["kind"] == "both"
    assert service.office_kinds(other["user_id"]) == ["construction", "distribution"]
    assert [s["kind"] for s in h.rpc(other).list_subscriptions()["items"]] == ["both"]
