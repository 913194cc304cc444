"""The card provider adapter against real HTTP servers on loopback (no mocks)."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from accounts.adapters.card_provider import CardPaymentRequest, CardProvider, CardProviderError

REQUEST = CardPaymentRequest(payment_id="3f0c4a52-0000-4000-8000-000000000001", amount_cents=2900,
                             currency="EUR", description="Abonnement",
                             callback_url="http://127.0.0.1:1/cb", return_url="http://127.0.0.1:1/r")


@pytest.fixture
def canned() -> Iterator[tuple[str, dict[str, Any]]]:
    """A server answering whatever the test puts in ``state``."""
    state: dict[str, Any] = {"status": 500, "body": b"oops"}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()


def test_errors_and_nonsense_become_provider_errors(canned: tuple[str, dict[str, Any]]) -> None:
    url, state = canned
    with pytest.raises(CardProviderError):
        CardProvider(url, timeout=30).create_payment(REQUEST)
    state.update(status=201, body=b"not json")
    with pytest.raises(CardProviderError):
        CardProvider(url, timeout=30).create_payment(REQUEST)
    state.update(body=json.dumps({"provider_ref": "r1", "redirect_url": "javascript:x"}).encode())
    with pytest.raises(CardProviderError):
        CardProvider(url, timeout=30).create_payment(REQUEST)
    state.update(body=json.dumps({"provider_ref": "r1", "redirect_url": "http://pay/r1"}).encode())
    assert CardProvider(url, timeout=30).create_payment(REQUEST).provider_ref == "r1"


def test_unreachable_provider() -> None:
    with pytest.raises(CardProviderError):
        CardProvider("http://127.0.0.1:9", timeout=30).create_payment(REQUEST)


def test_the_fake_provider_is_idempotent_on_payment_id(harness: Any) -> None:
    provider = CardProvider(harness.provider.base_url, timeout=30)
    first = provider.create_payment(REQUEST)
    again = provider.create_payment(REQUEST)
    assert first == again and first.redirect_url.startswith(harness.provider.base_url)
