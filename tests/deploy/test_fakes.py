"""Tests for the dev fakes in tools/fakes/, over real loopback sockets.

Why: the fakes stand in for real SMTP and card processors in every local and
CI run, so a silent bug in them would hide (or fake) platform bugs.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import importlib.util
import json
import signal
import smtplib
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from suivi_common.testing.waiting import wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKES_DIR = REPO_ROOT / "tools" / "fakes"
SECRET = "test-secret"


def load_fake(name: str) -> ModuleType:
    """Import tools/fakes/<name>.py by path: tools/ is not a package."""
    module_name = f"suivi_fakes_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, FAKES_DIR / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


def http_request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one request without following redirects."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def post_json(url: str, payload: Any) -> tuple[int, Any]:
    """POST a JSON body and decode the JSON answer."""
    status, _, raw = http_request(
        url,
        "POST",
        json.dumps(payload).encode(),
        {"Content-Type": "application/json"},
    )
    return status, json.loads(raw)


# --------------------------------------------------------------------------- SMTP


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Any:
    """A running sink on a free port, writing to tmp_path/mail."""
    pytest.importorskip("aiosmtpd", reason="dev dependency of tools/fakes")
    controller = load_fake("smtp_sink").start_sink("127.0.0.1", 0, tmp_path / "mail")
    yield controller
    controller.stop()


def _send(controller: Any, subject: str, bcc: str | None = None) -> None:
    msg = EmailMessage()
    msg["From"] = "noreply@suivi.test"
    msg["To"] = "user@example.test"
    msg["Subject"] = subject
    msg.set_content(f"body of {subject} — accentué")
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        client.send_message(msg, to_addrs=["user@example.test", *([bcc] if bcc else [])])


def test_smtp_sink_saves_each_message_as_eml(smtp_sink: Any, tmp_path: Path) -> None:
    maildir = tmp_path / "mail"
    _send(smtp_sink, "first", bcc="hidden@example.test")
    _send(smtp_sink, "second")

    names = sorted(p.name for p in maildir.iterdir())
    assert all(name.endswith(".eml") for name in names), names  # no temp leftovers
    assert len(names) == 2
    messages = [message_from_bytes((maildir / n).read_bytes(), policy=default_policy) for n in names]
    # Name order is arrival order.
    assert [m["Subject"] for m in messages] == ["first", "second"]
    first = messages[0]
    assert first["To"] == "user@example.test"
    assert "hidden@example.test" in first["X-Sink-Envelope-To"]
    assert first["X-Sink-Envelope-From"] == "noreply@suivi.test"
    assert "accentué" in first.get_content()


def test_message_filenames_sort_by_time() -> None:
    pytest.importorskip("aiosmtpd", reason="dev dependency of tools/fakes")
    sink = load_fake("smtp_sink")
    t0 = datetime(2025, 1, 1, 23, 59, 59, 999999, tzinfo=UTC)
    names = [sink.message_filename(t0 + timedelta(microseconds=i)) for i in range(3)]
    assert names == sorted(names)
    assert len(set(names)) == 3


# -------------------------------------------------------------------- card provider


class CallbackRecorder:
    """Local HTTP endpoint standing in for the platform's callback route."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.responses: list[int] = []  # statuses to answer, then 200
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.calls.append((dict(self.headers.items()), body))
                status = recorder.responses.pop(0) if recorder.responses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/payments/callback"
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self.thread.start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def callbacks() -> Any:
    """A running callback recorder."""
    recorder = CallbackRecorder()
    yield recorder
    recorder.close()


@pytest.fixture
def provider() -> Any:
    """A running fake provider on a free port with fast retries."""
    server, thread = load_fake("card_provider").start_provider(
        "127.0.0.1", 0, SECRET, callback_backoff_s=0.01
    )
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def base_url(server: Any) -> str:
    """Where the provider under test listens."""
    return f"http://127.0.0.1:{server.server_address[1]}"


def new_payment(server: Any, callback_url: str, payment_id: str = "pay-1") -> str:
    """Create a payment and return its provider_ref."""
    status, data = post_json(
        f"{base_url(server)}/v1/payments",
        {
            "payment_id": payment_id,
            "amount_cents": 4900,
            "currency": "EUR",
            "callback_url": callback_url,
            "return_url": "http://127.0.0.1:1/return?payment=pay-1",
            "description": "Plan Premium, 30 days",
        },
    )
    assert status == 201, data
    assert data["redirect_url"] == f"{base_url(server)}/pay/{data['provider_ref']}"
    return str(data["provider_ref"])


def test_create_rejects_bad_requests(provider: Any) -> None:
    url = f"{base_url(provider)}/v1/payments"
    status, _, raw = http_request(url, "POST", b"{not json", {})
    assert status == 400
    assert json.loads(raw)["error"] == "bad_request"
    status, data = post_json(url, {"payment_id": "x", "amount_cents": 1})
    assert status == 400
    assert "currency" in data["message"]
    status, data = post_json(
        url,
        {
            "payment_id": "x",
            "amount_cents": "12",
            "currency": "EUR",
            "callback_url": "http://127.0.0.1/cb",
            "return_url": "http://127.0.0.1/r",
            "description": "",
        },
    )
    assert status == 400
    assert "amount_cents" in data["message"]


def test_pay_page_and_status(provider: Any, callbacks: CallbackRecorder) -> None:
    ref = new_payment(provider, callbacks.url)
    status, headers, page = http_request(f"{base_url(provider)}/pay/{ref}")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b">Pay</a>" in page
    assert b">Decline</a>" in page
    assert f"/pay/{ref}/complete?outcome=succeeded".encode() in page

    status, _, raw = http_request(f"{base_url(provider)}/v1/payments/{ref}")
    assert status == 200
    assert json.loads(raw)["status"] == "pending"
    status, _, _ = http_request(f"{base_url(provider)}/v1/payments/cp_unknown")
    assert status == 404


def test_complete_sends_signed_callback_and_replays_it(provider: Any, callbacks: CallbackRecorder) -> None:
    ref = new_payment(provider, callbacks.url)
    complete = f"{base_url(provider)}/pay/{ref}/complete?outcome=succeeded"
    status, _, raw = http_request(complete, "POST")
    assert status == 200
    assert json.loads(raw)["callback_status"] == 200

    assert len(callbacks.calls) == 1
    headers, body = callbacks.calls[0]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Signature"], expected)
    payload = json.loads(body)
    assert payload["payment_id"] == "pay-1"
    assert payload["provider_ref"] == ref
    assert payload["status"] == "succeeded"
    assert payload["amount_cents"] == 4900
    assert payload["currency"] == "EUR"
    assert payload["occurred_at"]

    # Completing again (even with another outcome) re-sends the same bytes.
    status, _, raw = http_request(f"{base_url(provider)}/pay/{ref}/complete?outcome=failed")
    assert status == 200
    assert json.loads(raw)["replayed"] is True
    assert len(callbacks.calls) == 2
    assert callbacks.calls[1][1] == body
    assert callbacks.calls[1][0]["X-Signature"] == expected

    status, _, raw = http_request(f"{base_url(provider)}/v1/payments/{ref}")
    assert json.loads(raw)["status"] == "succeeded"


def test_complete_retries_on_5xx(provider: Any, callbacks: CallbackRecorder) -> None:
    ref = new_payment(provider, callbacks.url)
    callbacks.responses = [503, 500]
    status, _, raw = http_request(f"{base_url(provider)}/pay/{ref}/complete?outcome=failed")
    assert status == 200
    assert json.loads(raw)["callback_status"] == 200
    assert len(callbacks.calls) == 3
    assert len({body for _, body in callbacks.calls}) == 1
    assert json.loads(callbacks.calls[0][1])["status"] == "failed"


def test_complete_gives_up_after_five_attempts(provider: Any, callbacks: CallbackRecorder) -> None:
    ref = new_payment(provider, callbacks.url)
    callbacks.responses = [502] * 10
    _, _, raw = http_request(f"{base_url(provider)}/pay/{ref}/complete?outcome=succeeded")
    assert json.loads(raw)["callback_status"] == 502
    assert len(callbacks.calls) == 5


def test_complete_does_not_retry_on_4xx(provider: Any, callbacks: CallbackRecorder) -> None:
    ref = new_payment(provider, callbacks.url)
    callbacks.responses = [401]
    _, _, raw = http_request(f"{base_url(provider)}/pay/{ref}/complete?outcome=succeeded")
    assert json.loads(raw)["callback_status"] == 401
    assert len(callbacks.calls) == 1


def test_browser_completion_redirects_to_return_url(provider: Any, callbacks: CallbackRecorder) -> None:
    ref = new_payment(provider, callbacks.url)
    status, headers, _ = http_request(
        f"{base_url(provider)}/pay/{ref}/complete?outcome=succeeded",
        headers={"Accept": "text/html,application/xhtml+xml"},
    )
    assert status == 303
    assert headers["Location"] == "http://127.0.0.1:1/return?payment=pay-1"
    assert len(callbacks.calls) == 1


def test_bad_outcome_and_idempotent_create(provider: Any, callbacks: CallbackRecorder) -> None:
    ref = new_payment(provider, callbacks.url)
    status, _, _ = http_request(f"{base_url(provider)}/pay/{ref}/complete?outcome=x")
    assert status == 400
    assert callbacks.calls == []
    assert new_payment(provider, callbacks.url) == ref  # same payment_id
    assert new_payment(provider, callbacks.url, payment_id="pay-2") != ref


def test_unreachable_callback_is_retried_then_reported(provider: Any) -> None:
    ref = new_payment(provider, f"http://127.0.0.1:{free_port()}/cb")
    _, _, raw = http_request(f"{base_url(provider)}/pay/{ref}/complete?outcome=succeeded")
    answer = json.loads(raw)
    assert answer["callback_status"] is None
    assert answer["callback_error"]
    _, _, raw = http_request(f"{base_url(provider)}/v1/payments/{ref}")
    assert json.loads(raw)["callback_attempts"] == 5


# ----------------------------------------------------------------------------- CLIs


def free_port() -> int:
    """Return a loopback port nobody listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    """Wait until a child process accepts connections on port."""
    def listening() -> bool:
        assert proc.poll() is None, proc.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except OSError:
            return False
        return True
    wait_for(listening, what=f"something listening on {port}")


@pytest.mark.parametrize("tool", ["smtp_sink", "card_provider"])
def test_cli_serves_and_stops_on_sigterm(tool: str, tmp_path: Path) -> None:
    """Compose runs the fakes as PID 1, where SIGTERM must be handled."""
    if tool == "smtp_sink":
        pytest.importorskip("aiosmtpd", reason="dev dependency of tools/fakes")
    port = free_port()
    args = [sys.executable, str(FAKES_DIR / f"{tool}.py"), "--port", str(port)]
    if tool == "smtp_sink":
        args += ["--maildir", str(tmp_path / "mail")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        if tool == "smtp_sink":
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail("a@suivi.test", ["b@suivi.test"], b"Subject: hi\r\n\r\nx")
            assert len(list((tmp_path / "mail").glob("*.eml"))) == 1
        else:
            status, _, _ = http_request(f"http://127.0.0.1:{port}/healthz")
            assert status == 200
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if tool == "smtp_sink":
        assert b"mail from=a@suivi.test" in output


def test_callback_rewrite_redirects_by_prefix(callbacks: CallbackRecorder) -> None:
    """Compose runs the fake with --rewrite-callback localhost:8000=gateway:8000."""
    public = "http://public.invalid:8000"
    target = callbacks.url.removesuffix("/payments/callback")
    server, thread = load_fake("card_provider").start_provider(
        "127.0.0.1", 0, SECRET, callback_rewrites=[(public, target)]
    )
    try:
        ref = new_payment(server, f"{public}/payments/callback")
        _, _, raw = http_request(f"{base_url(server)}/pay/{ref}/complete?outcome=succeeded")
        assert json.loads(raw)["callback_status"] == 200
        assert len(callbacks.calls) == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_rewrite_rule_cli_parsing() -> None:
    provider = load_fake("card_provider")
    assert provider._rewrite_rule("http://a:1=http://b:2") == ("http://a:1", "http://b:2")
    with pytest.raises(argparse.ArgumentTypeError):
        provider._rewrite_rule("http://a:1")
