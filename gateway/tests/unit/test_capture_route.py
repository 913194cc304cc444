"""The capture route's look before the upload (issue 14 §3): leads is asked about the key
and the client's address (``Req.ip``: a forwarded one only through a trusted proxy), so a
site or address over its rate is a 429 before 8 MiB are read."""
from __future__ import annotations

from typing import Any

from nameko import config
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.routes.leads import check_capture_key


class FakeLeads:
    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    def check_capture_key(self, *args: Any) -> None:
        self.asked.append(args)


class Routes:
    def __init__(self) -> None:
        self.leads = FakeLeads()


def request(forwarded: str | None = None) -> Request:
    headers = {"X-Capture-Key": "lck_abc"}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return Request(EnvironBuilder(method="POST", path="/api/capture/leads", headers=headers,
                                  environ_base={"REMOTE_ADDR": "10.0.0.2"}).get_environ())


def test_the_key_and_the_client_address_are_checked_before_the_body() -> None:
    routes = Routes()
    check_capture_key(routes, request("6.6.6.6"))  # spoofed: no trusted proxy
    with config.patch({"TRUSTED_PROXIES": "1"}):
        check_capture_key(routes, request("198.51.100.4"))
    assert routes.leads.asked == [("lck_abc", "10.0.0.2"), ("lck_abc", "198.51.100.4")]
