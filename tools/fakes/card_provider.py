"""Fake card payment provider speaking the protocol of the platform's card adapter.

Why: payments must be testable end to end (redirect, cardholder decision,
signed server-to-server callback, retries, duplicate callbacks) without the
real processor. It is a real HTTP server on loopback by default.

Protocol:

* ``POST /v1/payments`` JSON ``{payment_id, amount_cents, currency,
  callback_url, return_url, description}`` -> 201 ``{provider_ref,
  redirect_url}``. Re-posting the same ``payment_id`` with the same amount and
  currency returns the same payment (idempotent); a different amount or
  currency -> 409.
* ``GET /pay/<ref>``: HTML page with "Pay" / "Decline" links.
* ``GET|POST /pay/<ref>/complete?outcome=succeeded|failed``: simulates the
  cardholder. The provider POSTs ``{payment_id, provider_ref, status,
  amount_cents, currency, occurred_at}`` to ``callback_url`` with header
  ``X-Signature: hex(hmac_sha256(secret, raw body))``, retrying on 5xx or
  connection errors (5 attempts in all, short exponential backoff). Answers
  JSON ``{"callback_status": <int|null>, ...}``, or 303 to ``return_url``
  when the client accepts text/html. Completing again re-sends the very same
  body bytes (the first outcome sticks), to exercise callback idempotency.
  ``--rewrite-callback FROM=TO`` redirects callback URLs by prefix (docker).
* ``GET /v1/payments/<ref>`` -> status JSON.  ``GET /healthz`` -> 200.

Run it::

    python tools/fakes/card_provider.py [--host 127.0.0.1] [--port 8025] [--secret S]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import json
import logging
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the fakes' own helpers
import fake_serving  # noqa: E402

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025
DEFAULT_SECRET = "dev-card-secret"
CALLBACK_ATTEMPTS = 5
CALLBACK_BACKOFF_S = 0.1
CALLBACK_TIMEOUT_S = 5.0
MAX_BODY_BYTES = 1 << 20
OUTCOMES = ("succeeded", "failed")
REQUIRED_FIELDS: dict[str, type] = {
    "payment_id": str,
    "amount_cents": int,
    "currency": str,
    "callback_url": str,
    "return_url": str,
    "description": str,
}

log = logging.getLogger("card_provider")
# Callbacks target the local platform: never send them through an HTTP(S)_PROXY.
_CALLBACK_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

_REF = r"(?P<ref>[A-Za-z0-9_-]{1,64})"
ROUTE_PAYMENTS = re.compile(r"^/v1/payments/?$")
ROUTE_PAYMENT = re.compile(rf"^/v1/payments/{_REF}/?$")
ROUTE_PAY_PAGE = re.compile(rf"^/pay/{_REF}/?$")
ROUTE_COMPLETE = re.compile(rf"^/pay/{_REF}/complete/?$")


def sign(secret: str, body: bytes) -> str:
    """Return the X-Signature value for a callback body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass
class Payment:
    """One payment as the provider remembers it."""

    provider_ref: str
    payment_id: str
    amount_cents: int
    currency: str
    callback_url: str
    return_url: str
    description: str
    created_at: str
    status: str = "pending"
    completed_at: str | None = None
    callback_body: bytes | None = field(default=None, repr=False)
    callback_attempts: int = 0
    last_callback_status: int | None = None

    def public(self) -> dict[str, Any]:
        """Return the JSON view served by GET /v1/payments/<ref>."""
        data = asdict(self)
        data.pop("callback_body")
        return data


class ProviderServer(ThreadingHTTPServer):
    """HTTP server holding the provider's in-memory state."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        secret: str,
        public_url: str | None = None,
        callback_attempts: int = CALLBACK_ATTEMPTS,
        callback_backoff_s: float = CALLBACK_BACKOFF_S,
        callback_rewrites: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(address, ProviderHandler)
        self.secret = secret
        self._public_url = public_url.rstrip("/") if public_url else None
        self.callback_attempts = callback_attempts
        self.callback_backoff_s = callback_backoff_s
        self.callback_rewrites = tuple(callback_rewrites)
        self.payments: dict[str, Payment] = {}
        self.by_payment_id: dict[str, str] = {}
        self.lock = threading.Lock()
        # One lock per payment so two concurrent completions cannot race.
        self.complete_locks: dict[str, threading.Lock] = {}

    @property
    def base_url(self) -> str:
        """Base of redirect URLs: ``http://<host>:<port>`` unless overridden."""
        if self._public_url:
            return self._public_url
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def create(self, data: dict[str, Any]) -> tuple[Payment, bool]:
        """Create (or idempotently fetch) a payment; bool = newly created."""
        with self.lock:
            existing_ref = self.by_payment_id.get(data["payment_id"])
            if existing_ref is not None:
                return self.payments[existing_ref], False
            payment = Payment(
                provider_ref=f"cp_{uuid.uuid4().hex}",
                created_at=_now(),
                **{name: data[name] for name in REQUIRED_FIELDS},
            )
            self.payments[payment.provider_ref] = payment
            self.by_payment_id[payment.payment_id] = payment.provider_ref
            self.complete_locks[payment.provider_ref] = threading.Lock()
            return payment, True

    def complete(self, payment: Payment, outcome: str) -> tuple[int | None, str | None]:
        """Fix the outcome (first one wins) and deliver the signed callback."""
        with self.complete_locks[payment.provider_ref]:
            if payment.callback_body is None:
                payment.status = outcome
                payment.completed_at = _now()
                payment.callback_body = json.dumps(
                    {
                        "payment_id": payment.payment_id,
                        "provider_ref": payment.provider_ref,
                        "status": outcome,
                        "amount_cents": payment.amount_cents,
                        "currency": payment.currency,
                        "occurred_at": payment.completed_at,
                    },
                    separators=(",", ":"),
                ).encode("utf-8")
            return self._deliver(payment, payment.callback_body)

    def callback_target(self, url: str) -> str:
        """Apply the first matching ``--rewrite-callback`` prefix.

        Why: in docker compose the platform announces browser-facing URLs
        (http://localhost:8000/...) that do not reach the gateway from this
        container; the rewrite sends them to http://gateway:8000/... instead.
        """
        for old, new in self.callback_rewrites:
            if url.startswith(old):
                return new + url[len(old) :]
        return url

    def _deliver(self, payment: Payment, body: bytes) -> tuple[int | None, str | None]:
        """POST the callback, retrying on 5xx and connection errors."""
        url = self.callback_target(payment.callback_url)
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self.callback_attempts + 1):
            # callback_url was checked to be http(s) when the payment was created.
            request = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "X-Signature": sign(self.secret, body),
                    "User-Agent": "suivi-fake-card-provider/1",
                },
            )
            try:
                with _CALLBACK_OPENER.open(request, timeout=CALLBACK_TIMEOUT_S) as response:
                    status, error = response.status, None
            except urllib.error.HTTPError as exc:
                status, error = exc.code, f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            payment.callback_attempts += 1
            payment.last_callback_status = status
            log.info(
                "callback ref=%s attempt=%d/%d url=%s -> %s",
                payment.provider_ref,
                attempt,
                self.callback_attempts,
                url,
                status if status is not None else error,
            )
            if status is not None and status < 500:
                break
            if attempt < self.callback_attempts:
                time.sleep(self.callback_backoff_s * 2 ** (attempt - 1))
        return status, error


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def validate_payment_request(data: Any) -> str | None:
    """Return an error message, or None when the create request is valid."""
    if not isinstance(data, dict):
        return "body must be a JSON object"
    missing = [name for name in REQUIRED_FIELDS if name not in data]
    if missing:
        return f"missing fields: {', '.join(missing)}"
    for name, kind in REQUIRED_FIELDS.items():
        value = data[name]
        # bool is an int subclass; an amount of `true` is a client bug.
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"field {name!r} must be of type {kind.__name__}"
    if data["amount_cents"] <= 0:
        return "amount_cents must be positive"
    if not data["payment_id"]:
        return "payment_id must not be empty"
    if not re.fullmatch(r"[A-Z]{3}", data["currency"]):
        return "currency must be an ISO 4217 code such as EUR"
    for name in ("callback_url", "return_url"):
        if urlsplit(data[name]).scheme not in ("http", "https"):
            return f"{name} must be an http(s) URL"
    return None


class ProviderHandler(BaseHTTPRequestHandler):
    """Routes requests to the provider state held by :class:`ProviderServer`."""

    server: ProviderServer
    server_version = "FakeCardProvider/1"

    # --- plumbing -----------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(
            status,
            {"error": status.phrase.lower().replace(" ", "_"), "message": message},
        )

    def _read_body(self) -> bytes | None:
        """Read the request body; None (after replying 413) when too large."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _payment(self, ref: str) -> Payment | None:
        with self.server.lock:
            payment = self.server.payments.get(ref)
        if payment is None:
            self._error(HTTPStatus.NOT_FOUND, f"unknown provider_ref {ref!r}")
        return payment

    # --- verbs --------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._json(HTTPStatus.OK, {"status": "ok"})
        elif match := ROUTE_PAYMENT.match(path):
            if payment := self._payment(match["ref"]):
                self._json(HTTPStatus.OK, payment.public())
        elif match := ROUTE_PAY_PAGE.match(path):
            if payment := self._payment(match["ref"]):
                self._pay_page(payment)
        elif match := ROUTE_COMPLETE.match(path):
            self._complete(match["ref"], b"")
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no route for GET {path}")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._read_body()
        if body is None:
            return
        if ROUTE_PAYMENTS.match(path):
            self._create(body)
        elif match := ROUTE_COMPLETE.match(path):
            self._complete(match["ref"], body)
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no route for POST {path}")

    # --- handlers -----------------------------------------------------------

    def _create(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, f"invalid JSON: {exc}")
            return
        problem = validate_payment_request(data)
        if problem:
            self._error(HTTPStatus.BAD_REQUEST, problem)
            return
        payment, created = self.server.create(data)
        if not created and (payment.amount_cents, payment.currency) != (
            data["amount_cents"],
            data["currency"],
        ):
            self._error(
                HTTPStatus.CONFLICT,
                "payment_id already used with another amount or currency",
            )
            return
        log.info(
            "payment %s ref=%s id=%s amount=%d %s",
            "created" if created else "replayed",
            payment.provider_ref,
            payment.payment_id,
            payment.amount_cents,
            payment.currency,
        )
        self._json(
            HTTPStatus.CREATED,
            {
                "provider_ref": payment.provider_ref,
                "redirect_url": f"{self.server.base_url}/pay/{payment.provider_ref}",
            },
        )

    def _pay_page(self, payment: Payment) -> None:
        ref = html.escape(payment.provider_ref, quote=True)
        amount = f"{payment.amount_cents / 100:.2f} {html.escape(payment.currency)}"
        page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Fake card provider</title></head>
<body>
<h1>Fake card provider</h1>
<p>{html.escape(payment.description)}</p>
<p>Amount: <strong>{amount}</strong> &middot; status: {html.escape(payment.status)}</p>
<p><a href="/pay/{ref}/complete?outcome=succeeded">Pay</a>
 &nbsp; <a href="/pay/{ref}/complete?outcome=failed">Decline</a></p>
</body></html>
"""
        self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")

    def _complete(self, ref: str, body: bytes) -> None:
        payment = self._payment(ref)
        if payment is None:
            return
        params = parse_qs(urlsplit(self.path).query)
        if body and self.headers.get_content_type() == "application/x-www-form-urlencoded":
            params.update(parse_qs(body.decode("utf-8", "replace")))
        outcome = (params.get("outcome") or [""])[0]
        if outcome not in OUTCOMES:
            self._error(HTTPStatus.BAD_REQUEST, f"outcome must be one of {', '.join(OUTCOMES)}")
            return
        replay = payment.callback_body is not None
        status, error = self.server.complete(payment, outcome)
        if "text/html" in self.headers.get("Accept", ""):
            self._send(
                HTTPStatus.SEE_OTHER,
                b"",
                "text/plain",
                {"Location": payment.return_url},
            )
            return
        self._json(
            HTTPStatus.OK,
            {
                "callback_status": status,
                "callback_error": error,
                "status": payment.status,
                "replayed": replay,
            },
        )


def start_provider(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    secret: str = DEFAULT_SECRET,
    public_url: str | None = None,
    callback_backoff_s: float = CALLBACK_BACKOFF_S,
    callback_rewrites: Sequence[tuple[str, str]] = (),
) -> tuple[ProviderServer, threading.Thread]:
    """Start the provider in a daemon thread; ``port=0`` picks a free port.

    Stop it with ``server.shutdown(); server.server_close()``.
    """
    server = ProviderServer(
        (host, port),
        secret,
        public_url,
        callback_backoff_s=callback_backoff_s,
        callback_rewrites=callback_rewrites,
    )
    return server, fake_serving.in_thread(server, "card-provider")


def _rewrite_rule(value: str) -> tuple[str, str]:
    """Parse a FROM=TO prefix rewrite given on the command line."""
    old, sep, new = value.partition("=")
    if not (sep and old and new):
        raise argparse.ArgumentTypeError("expected FROM=TO")
    return old, new


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: serve until interrupted."""
    parser = fake_serving.parser(__doc__, DEFAULT_HOST, DEFAULT_PORT)
    parser.add_argument(
        "--secret",
        default=os.environ.get("CARD_PROVIDER_SECRET", DEFAULT_SECRET),
        help=f"HMAC key (default: env CARD_PROVIDER_SECRET or {DEFAULT_SECRET})",
    )
    parser.add_argument(
        "--public-url",
        default=os.environ.get("CARD_PROVIDER_PUBLIC_URL"),
        help="base of redirect URLs when the bind address is not what browsers reach "
        "(e.g. in docker); default http://<host>:<port>",
    )
    parser.add_argument(
        "--rewrite-callback",
        action="append",
        default=[],
        type=_rewrite_rule,
        metavar="FROM=TO",
        help="deliver callbacks whose URL starts with FROM to TO instead (repeatable), "
        "e.g. http://localhost:8000=http://gateway:8000 inside docker compose",
    )
    args = parser.parse_args(argv)
    fake_serving.log_setup()
    server = ProviderServer(
        (args.host, args.port),
        args.secret,
        args.public_url,
        callback_rewrites=args.rewrite_callback,
    )
    log.info(
        "listening on %s:%d, redirects to %s",
        args.host,
        server.server_address[1],
        server.base_url,
    )

    return fake_serving.until_stopped(server)


if __name__ == "__main__":
    raise SystemExit(main())
