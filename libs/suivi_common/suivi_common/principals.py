"""Signed principals: who a call or an event is for, in a form a service can trust (see
ARCHITECTURE.md, "Trust boundary").

A token is ``p1.<payload>.<mac>``: base64url JSON ``[user_id, role, network_id, issued_at,
expires_at, audience]`` (plus, for a member, a seventh item: the permissions of their access
level, ``suivi_common.permissions``) and HMAC-SHA256 over ``p1.<payload>`` with ``SUIVI_PRINCIPAL_KEY``,
which only the platform's processes hold; a missing, malformed, forged or expired token
makes the caller anonymous. The audience keeps a token to its use: ``rpc`` (a call,
``PRINCIPAL_TTL_SECONDS``), ``event:<message id>`` (one event, signed by the emitting
service's outbox relay, ``EVENT_PRINCIPAL_TTL_SECONDS`` so a backlog never expires into a
loss) or ``event`` (a broadcast). Signers reuse a token while three quarters of its life
remain and verifiers remember the tokens they accepted, so a busy caller costs a dict
lookup per message.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from suivi_common.identity import ROLES, SERVICE_ROLE, Principal
from suivi_common.settings import is_dev, key_file, setting

PRINCIPAL_KEY = "suivi.principal"
#: Context keys that speak for a caller: only ``PRINCIPAL_KEY`` is believed (once
#: verified), the rest are what callers used to send unsigned; none is ever forwarded.
IDENTITY_KEYS = (PRINCIPAL_KEY, "user_id", "role", "network_id")
AUD_RPC = "rpc"
AUD_BROADCAST = "event"
VERSION = "p1"
DEFAULT_TTL_SECONDS = 120.0
DEFAULT_EVENT_TTL_SECONDS = 30 * 24 * 3600.0
#: A token issued this far in the future is refused (clocks of two hosts disagree a bit).
CLOCK_SKEW_SECONDS = 60.0
MIN_KEY_BYTES = 32


def event_audience(message_id: str) -> str:
    return f"event:{message_id}"


def load_principal_key() -> bytes:
    """``SUIVI_PRINCIPAL_KEY`` (any string of 32 bytes or more); in dev, generated once into
    ``SUIVI_PRINCIPAL_KEY_FILE`` (``var/principal.key``), like the master key.

    Resolved on every call (tests and tools switch configs), read from disk once per file."""
    raw = setting("SUIVI_PRINCIPAL_KEY")
    if raw:
        return str(raw).encode()
    if not is_dev():
        raise RuntimeError("SUIVI_PRINCIPAL_KEY must be set outside dev (32 bytes or more)")
    path = str(setting("SUIVI_PRINCIPAL_KEY_FILE", "var/principal.key"))
    key = _key_files.get(path)
    if key is None:
        key = _key_files[path] = ensure_key_file(Path(path))
    return key


_key_files: dict[str, bytes] = {}


def ensure_key_file(path: Path) -> bytes:
    """The key in ``path``, created first if missing (atomically: the first process wins)."""
    key = key_file(path, lambda: secrets.token_urlsafe(48)).encode()
    if len(key) < MIN_KEY_BYTES:
        raise RuntimeError(f"{path}: the principal key must be at least {MIN_KEY_BYTES} bytes")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs principals with one key; reuses a token while most of its life remains."""

    MAX_CACHED = 10_000

    def __init__(self, key: bytes, now: Callable[[], float] = time.time) -> None:
        self._key = key
        self._now = now
        self._cache: dict[tuple[Any, ...], tuple[str, float, float]] = {}

    def sign(self, principal: Principal, audience: str = AUD_RPC, ttl: float | None = None,
             issued_at: float | None = None) -> str:
        iat = int(self._now() if issued_at is None else issued_at)
        exp = iat + int(DEFAULT_TTL_SECONDS if ttl is None else ttl)
        items: list[Any] = [principal.user_id, principal.role, principal.network_id, iat, exp,
                            audience]
        if principal.permissions is not None:
            items.append(list(principal.permissions))
        body = json.dumps(items, separators=(",", ":")).encode()
        signed = f"{VERSION}.{_b64(body)}"
        mac = hmac.new(self._key, signed.encode(), hashlib.sha256).digest()
        return f"{signed}.{_b64(mac)}"

    def token(self, principal: Principal, audience: str = AUD_RPC,
              ttl: float | None = None) -> str:
        """A token for ``principal``, reused while three quarters of its life remain."""
        life = DEFAULT_TTL_SECONDS if ttl is None else ttl
        key = (principal.user_id, principal.role, principal.network_id, principal.permissions,
               audience, life)
        now = self._now()
        hit = self._cache.get(key)
        if hit is not None and hit[1] - now > life * 0.75:
            return hit[0]
        token = self.sign(principal, audience, life, now)
        if len(self._cache) >= self.MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if v[1] - now > life * 0.75}
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
        self._cache[key] = (token, now + life, life)
        return token


class Verifier:
    """Checks tokens signed with one key; remembers those it accepted until they expire.

    Refused tokens are not remembered (nothing an anonymous sender does grows the cache)."""

    MAX_CACHED = 20_000

    def __init__(self, key: bytes, now: Callable[[], float] = time.time) -> None:
        self._key = key
        self._now = now
        self._accepted: dict[str, tuple[Principal, float, str]] = {}
        self._lock = threading.Lock()

    def verify(self, token: Any, audience: str = AUD_RPC) -> Principal | None:
        if not isinstance(token, str) or not token:
            return None
        now = self._now()
        hit = self._accepted.get(token)
        if hit is None:
            hit = self._check(token, now)
            if hit is None:
                return None
            self._remember(token, hit, now)
        principal, expires_at, aud = hit
        if aud != audience or expires_at <= now:
            return None
        return principal

    def _check(self, token: str, now: float) -> tuple[Principal, float, str] | None:

        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION or len(token) > 4096:
            return None
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            mac = _unb64(parts[2])
            if not hmac.compare_digest(expected, mac):
                return None
            items = json.loads(_unb64(parts[1]))
            if not isinstance(items, list) or len(items) not in (6, 7):
                return None
            user_id, role, network_id, iat, exp, aud = items[:6]
            granted = items[6] if len(items) == 7 else None
        except (ValueError, TypeError, UnicodeDecodeError):
            return None
        if (not isinstance(user_id, str) or not user_id or role not in ROLES
                or not isinstance(iat, int) or not isinstance(exp, int)
                or not isinstance(aud, str) or iat > now + CLOCK_SKEW_SECONDS
                or not (network_id is None or isinstance(network_id, str))
                or not (granted is None or (isinstance(granted, list)
                                            and all(isinstance(g, str) for g in granted)))):
            return None
        permissions = None if granted is None else tuple(granted)
        return Principal(user_id, role, network_id or None, permissions), float(exp), aud

    def _remember(self, token: str, hit: tuple[Principal, float, str], now: float) -> None:
        with self._lock:
            if len(self._accepted) >= self.MAX_CACHED:
                self._accepted = {t: h for t, h in self._accepted.items() if h[1] > now}
                if len(self._accepted) >= self.MAX_CACHED:
                    self._accepted.clear()
            self._accepted[token] = hit


_signers: dict[bytes, Signer] = {}
_verifiers: dict[bytes, Verifier] = {}


def signer(key: bytes | None = None) -> Signer:
    key = key or load_principal_key()
    found = _signers.get(key)
    if found is None:
        found = _signers[key] = Signer(key)
    return found


def verifier(key: bytes | None = None) -> Verifier:
    key = key or load_principal_key()
    found = _verifiers.get(key)
    if found is None:
        found = _verifiers[key] = Verifier(key)
    return found


def service_principal(service_name: str) -> Principal:
    """The principal a service calls and emits as (its timers act as it too)."""
    return Principal(service_name, SERVICE_ROLE)


def _ttl() -> float:
    return float(setting("PRINCIPAL_TTL_SECONDS", DEFAULT_TTL_SECONDS))


def service_token(service_name: str, audience: str = AUD_RPC) -> str:
    return signer().token(service_principal(service_name), audience, _ttl())


def event_token(service_name: str, message_id: str) -> str:
    """The emitting service's principal for one event (bound to its message id)."""
    ttl = float(setting("EVENT_PRINCIPAL_TTL_SECONDS", DEFAULT_EVENT_TTL_SECONDS))
    return signer().sign(service_principal(service_name), event_audience(message_id), ttl)


def user_token(principal: Principal) -> str:
    """The gateway's signature on the principal it authenticated for a request."""
    return signer().token(principal, AUD_RPC, _ttl())


def verify(token: Any, audience: str = AUD_RPC) -> Principal | None:
    return verifier().verify(token, audience)
