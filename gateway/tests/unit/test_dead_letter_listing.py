"""The staff's dead-letter listing across services (``routes.staff``): each service is
asked at once; one that does not answer in time, or cannot be reached, is named in
``unavailable`` and the others' letters are still listed."""
from __future__ import annotations

from typing import Any

import pytest
from eventlet.event import Event
from nameko.exceptions import UnknownService

import gateway.service  # noqa: F401  (registers every route)
from gateway.http import ROUTES
from gateway.routes.staff import ask_each, combine_dead_letters
from gateway.schemas.platform import DeadLetterPage
from suivi_common.errors import ServiceUnavailable


def letter(service: str, failed_at: str) -> dict[str, Any]:
    return {"id": f"{service}-{failed_at}", "queue": "q", "handler": f"{service}.on_x",
            "message_id": "m", "payload": {}, "error": "boom", "attempts": 4,
            "failed_at": failed_at, "replayed_at": None}


def test_letters_are_tagged_with_their_service_oldest_first() -> None:
    page = combine_dead_letters({
        "plans": [letter("plans", "2027-01-02T10:00:00+00:00")],
        "accounts": [letter("accounts", "2027-01-03T10:00:00+00:00"),
                     letter("accounts", "2027-01-01T10:00:00+00:00")],
        "leads": []}, unavailable=[])
    assert [(i["service"], i["failed_at"][:10]) for i in page["items"]] == [
        ("accounts", "2027-01-01"), ("plans", "2027-01-02"), ("accounts", "2027-01-03")]
    assert page["next_cursor"] is None and page["unavailable"] == []


def test_a_missing_service_is_named_and_the_others_still_listed() -> None:
    page = combine_dead_letters({"accounts": [letter("accounts", "2027-01-01T10:00:00+00:00")]},
                                unavailable=["mailer", "leads"])
    assert [i["service"] for i in page["items"]] == ["accounts"]
    assert page["unavailable"] == ["leads", "mailer"]  # in the platform's service order
    assert DeadLetterPage().dump(page)["unavailable"] == ["leads", "mailer"]


class Call:
    """A pending reply. ``gate``: it answers only once that event is sent (never, for a
    service that does not answer); ``then``: an event it sends as it settles, to release
    another call in a set order instead of after a guessed delay."""

    def __init__(self, answer: Any = None, gate: Event | None = None,
                 error: Exception | None = None, then: Event | None = None) -> None:
        self.answer, self.gate, self.error, self.then = answer, gate, error, then
        self.settled = False

    def result(self) -> Any:
        if self.gate is not None:
            self.gate.wait()
        self.settled = True
        if self.then is not None:
            self.then.send()
        if self.error is not None:
            raise self.error
        return self.answer


class Client:
    """A service's RPC client as a route sees it: ``client[method].call_async(*args)``."""

    def __init__(self, call: Call | None = None, refuse: Exception | None = None) -> None:
        self.call, self.refuse = call, refuse
        self.asked: list[tuple[str, tuple[Any, ...]]] = []

    def __getitem__(self, method: str) -> Client:
        self.method = method
        return self

    def call_async(self, *args: Any) -> Call:
        self.asked.append((self.method, args))
        if self.refuse is not None:
            raise self.refuse
        assert self.call is not None
        return self.call


def test_a_service_too_slow_or_unreachable_is_left_out_not_the_request() -> None:
    clients = {"accounts": Client(Call(["a"])),
               "plans": Client(Call(["never"], gate=Event())),      # no answer in time
               "leads": Client(refuse=UnknownService("leads")),     # no instance bound
               "mailer": Client(Call(error=ServiceUnavailable("broker"))),
               "compliance": Client(Call([]))}
    answers, unavailable = ask_each(clients, "list_dead_letters", (True,), timeout=0.2)
    assert answers == {"accounts": ["a"], "compliance": []}
    assert sorted(unavailable) == ["leads", "mailer", "plans"]
    assert all(c.asked == [("list_dead_letters", (True,))] for c in clients.values())


def test_an_unexpected_error_still_fails_the_request_once_every_call_settled() -> None:
    release = Event()  # plans answers only after accounts has failed
    slow = Call(["late"], gate=release)
    clients = {"accounts": Client(Call(error=RuntimeError("bug"), then=release)),
               "plans": Client(slow)}
    with pytest.raises(RuntimeError, match="bug"):
        ask_each(clients, "list_dead_letters", (False,), timeout=5)
    assert clients["plans"].asked and slow.settled  # its reply was waited for first


def test_the_route_documents_unavailable_services() -> None:
    route = next(r for r in ROUTES if r.path == "/api/staff/dead-letters")
    assert route.response is DeadLetterPage and "unavailable" in (route.summary or "")
    assert "unavailable" in DeadLetterPage._declared_fields
