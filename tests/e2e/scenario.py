"""What the end-to-end scenarios share: named steps and waiting on HTTP answers.

A scenario of seventy statements that fails at one ``assert`` says little; inside
``with step("tier change: once per calendar day")`` the failure names the rule that broke."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from suivi_common.testing.waiting import wait_for
from tools.api_client import Api, pay_by_card


@contextmanager
def step(rule: str) -> Iterator[None]:
    """Run one step of a scenario; a failure inside it is reported with the step's rule."""
    try:
        yield
    except AssertionError as failure:
        raise AssertionError(f"step «{rule}» failed: {failure}") from failure


def wait_until(fetch: Callable[[], Any], predicate: Callable[[Any], Any]) -> Any:
    """The first answer of ``fetch()`` (an HTTP call) that ``predicate`` accepts."""
    last: list[Any] = [None]

    def accepted() -> bool:
        last[0] = fetch()
        return bool(predicate(last[0]))
    try:
        wait_for(accepted, what="the awaited answer")
    except AssertionError:
        raise AssertionError(f"condition not met: {last[0]}") from None
    return last[0]


def buy_active_plan(owner: Api, records: int, tier: str, country: str) -> dict[str, Any]:
    """Buy a plan by card and pay it; the plan once active (payment is confirmed
    asynchronously)."""
    plan = owner.post("/api/plans", {"records": records, "tier": tier, "country": country,
                                     "payment_method": "card"}, expect=201)
    pay_by_card(plan["payment"])
    return wait_until(lambda: owner.get(f"/api/plans/{plan['id']}"),
                      lambda p: p["status"] == "active")


def take_leads(owner: Api, plan_id: str) -> list[dict[str, Any]]:
    """The leads of the first take of ``plan_id`` that finds some (captured leads reach the
    stock asynchronously)."""
    return wait_until(lambda: owner.call("POST", f"/api/plans/{plan_id}/take", {})[1],
                      lambda body: len(body.get("leads", [])) > 0)["leads"]
