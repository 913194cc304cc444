"""Two facts accounts tells: an admin opening a member's office (compliance's audit
trail) and a subscription's end drawing near (the mailer's reminder)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from accounts.usecases import reminders
from suivi_common import clock


@pytest.fixture
def member(h: Any, network: dict[str, Any]) -> dict[str, Any]:
    member = h.new_member(network, "bruno@soleil.test")
    h.rpc(member).update_me({"phone": "06 12 34 56 78"})
    return member


def test_an_admins_visit_is_one_opening(h: Any, network: dict[str, Any],
                                        member: dict[str, Any]) -> None:
    admin, gateway = network["admin"], h.service("gateway")
    # the gateway's check, then the office summary, then leads asking again: one visit
    assert gateway.admin_can_view(admin["user_id"], member["user_id"]) is True
    h.rpc(admin).member_office(member["user_id"])
    assert h.service("leads").admin_can_view(admin["user_id"], member["user_id"]) is True
    [opened] = h.events_of("member_office_opened")
    assert opened["member_id"] == member["user_id"] and opened["admin_id"] == admin["user_id"]
    assert opened["network_id"] == network["id"]
    assert datetime.fromisoformat(opened["opened_at"]) - clock.now() < timedelta(minutes=1)

    clock.set_now(clock.now() + timedelta(minutes=31))  # a later visit
    h.rpc(admin).member_office(member["user_id"])
    assert len(h.events_of("member_office_opened")) == 2


def test_a_refused_look_and_the_admins_own_office_open_nothing(
        h: Any, network: dict[str, Any], member: dict[str, Any]) -> None:
    admin = network["admin"]
    h.rpc(admin).member_office(admin["user_id"])
    h.rpc(member).set_privacy(False)
    assert h.service("gateway").admin_can_view(admin["user_id"], member["user_id"]) is False
    assert h.events_of("member_office_opened") == []


def test_get_user_gives_the_phone_when_there_is_one(h: Any, network: dict[str, Any],
                                                    member: dict[str, Any]) -> None:
    assert h.service("mailer").get_user(member["user_id"])["phone"] == "+33612345678"
    assert "phone" not in h.service("mailer").get_user(network["admin_id"])


def _remind(h: Any, with_plans: frozenset[str] = frozenset()) -> int:
    """Run the reminders, plans answering that ``with_plans`` have a plan running."""
    def running(user_ids: list[str]) -> list[str]:
        return [u for u in user_ids if u in with_plans]
    with Session(h.engine) as session, session.begin():
        return reminders.remind_ending(h.direct_ctx(session), running)


def _on(day: date) -> None:
    clock.freeze(datetime.combine(day, time(9), tzinfo=clock.PARIS))


def test_a_reminder_once_per_subscription(h: Any, member: dict[str, Any]) -> None:
    sub = h.subscribe_by_transfer(member)  # 10 June: monthly, ends 9 July
    ends = date.fromisoformat(h.rpc(member).list_subscriptions()["items"][0]["ends_on"])
    assert ends == date(2026, 7, 9)
    _on(ends - timedelta(days=8))
    assert _remind(h) == 0
    _on(ends - timedelta(days=7))
    assert _remind(h, frozenset({member["user_id"]})) == 1
    assert _remind(h) == 0
    _on(ends)
    assert _remind(h) == 0
    assert h.events_of("subscription_ending_soon") == [
        {"user_id": member["user_id"], "network_id": member["network_id"],
         "subscription_id": sub["id"], "ends_on": "2026-07-09", "plans_running": True}]


def test_plans_down_sends_no_reminder_until_it_answers(h: Any, member: dict[str, Any]) -> None:
    """A reminder without its warning about running plans would mislead: none goes out while
    plans cannot say, and the next tick sends it (no plan running: no warning)."""
    h.subscribe_by_transfer(member)
    _on(date(2026, 7, 2))

    def down(user_ids: list[str]) -> list[str]:
        raise ConnectionError("plans is down")
    with pytest.raises(ConnectionError), Session(h.engine) as session, session.begin():
        reminders.remind_ending(h.direct_ctx(session), down)
    assert h.events_of("subscription_ending_soon") == []
    assert _remind(h) == 1
    assert [e["plans_running"] for e in h.events_of("subscription_ending_soon")] == [False]


def test_no_reminder_after_a_paid_renewal_or_an_objection(h: Any, network: dict[str, Any],
                                                          member: dict[str, Any]) -> None:
    h.subscribe_by_transfer(member)
    h.subscribe_by_transfer(member)  # renewed at once: runs 10 July to 9 August
    other = h.new_member(network, "carla@soleil.test", "Carla", "Roux")
    h.subscribe_by_transfer(other)
    h.execute("UPDATE users SET objected_at = now() WHERE id = :i", i=other["user_id"])
    _on(date(2026, 7, 5))
    assert _remind(h) == 0
    _on(date(2026, 8, 5))
    assert _remind(h) == 1  # the renewal's own end
    assert [e["ends_on"] for e in h.events_of("subscription_ending_soon")] == ["2026-08-09"]


def test_get_me_says_when_the_subscription_is_ending(h: Any, member: dict[str, Any]) -> None:
    """The dashboard's reminder is the email's rule: from SUBSCRIPTION_REMINDER_DAYS before
    the last day, unless a paid renewal follows."""
    h.subscribe_by_transfer(member)  # 10 June: monthly, ends 9 July
    me = h.rpc(member)
    assert me.get_me()["subscription"]["renewal_due"] is False
    _on(date(2026, 7, 1))
    assert me.get_me()["subscription"]["renewal_due"] is False
    _on(date(2026, 7, 2))
    sub = me.get_me()["subscription"]
    assert (sub["renewal_due"], sub["ends_on"]) == (True, "2026-07-09")
    h.subscribe_by_transfer(member)  # renewed: 10 July to 9 August
    assert me.get_me()["subscription"]["renewal_due"] is False
    _on(date(2026, 8, 3))
    sub = me.get_me()["subscription"]
    assert (sub["renewal_due"], sub["ends_on"]) == (True, "2026-08-09")
