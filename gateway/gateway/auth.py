"""Authentication and authorisation in one place.

A bearer token is checked by the accounts service; the answer is cached for a
couple of seconds so a burst of requests costs one RPC (``TokenCache``), and evicted
at once on logout or terms acceptance (locally, and on every gateway instance through
a broadcast). The principal is then signed (``suivi_common.principals.user_token``, an
HMAC with ``SUIVI_PRINCIPAL_KEY``, valid two minutes, reused for half a minute) and the
token written into the worker's RPC context: every call the gateway makes for this request
carries it, and every service verifies it before it trusts who is asking. The gateway asks
accounts to authenticate as itself (a service principal), since no user is known yet.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from eventlet.event import Event
from nameko import config
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from suivi_common import permissions as _permissions  # noqa: F401  (its refusal, across RPC)
from suivi_common import principals
from suivi_common.auth import WORKER_PRINCIPAL, WORKER_TOKEN, Principal
from suivi_common.errors import Forbidden, Unauthorized


class TokenCache:
    """Answers of ``accounts.authenticate`` by token hash, kept ``ttl`` seconds.

    * Refresh ahead: past half its life, an entry is refreshed by the one request that
      finds it so, while the others keep using it. A busy client never finds its entry
      expired, so its requests never all stall behind one authentication.
    * Single flight: concurrent misses for one token share one RPC.
    * Evictions win over calls in flight: an answer fetched across a logout or a change
      of role or terms is handed to the requests that were already waiting for it, but
      never cached nor handed to a later one.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._inflight: dict[str, Event] = {}
        self._generation = 0

    def get(self, key: str, ttl: float, fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        entry = self._entries.get(key)
        if entry is not None:
            age = self._now() - entry[0]
            if age < ttl and (age < ttl / 2 or key in self._inflight):
                return entry[1]
        waiting = self._inflight.get(key)
        if waiting is not None:
            return waiting.wait()
        event = self._inflight[key] = Event()
        generation = self._generation
        try:
            info = fetch()
        except BaseException as exc:  # a killed worker too: its waiters must not hang
            event.send_exception(exc)
            raise
        finally:
            if self._inflight.get(key) is event:
                del self._inflight[key]
        if generation == self._generation:
            self._store(key, info, ttl)
        event.send(info)
        return info

    def _store(self, key: str, info: dict[str, Any], ttl: float) -> None:
        """Keep the answer; past ``MAX_ENTRIES`` tokens, first forget the expired ones, so
        the tokens of clients long gone do not pile up."""
        now = self._now()
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries = {k: e for k, e in self._entries.items() if now - e[0] < ttl}
        self._entries[key] = (now, info)

    def evict_token(self, key: str) -> None:
        self._generation += 1
        self._entries.pop(key, None)
        self._inflight.pop(key, None)

    def evict_user(self, user_id: str) -> None:
        self._generation += 1
        for key in [k for k, (_, info) in self._entries.items() if info.get("user_id") == user_id]:
            self._entries.pop(key, None)
        self._inflight.clear()  # which calls in flight are this user's is not known yet

    def evict_network(self, network_id: str) -> None:
        """Every member of a network at once: an access level of theirs changed."""
        self._generation += 1
        for key in [k for k, (_, info) in self._entries.items()
                    if info.get("network_id") == network_id]:
            self._entries.pop(key, None)
        self._inflight.clear()


_tokens = TokenCache()


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def evict_token(key: str) -> None:
    _tokens.evict_token(key)


def evict_user(user_id: str) -> None:
    _tokens.evict_user(user_id)


def evict_network(network_id: str) -> None:
    _tokens.evict_network(network_id)


def principal_of(info: dict[str, Any]) -> Principal:
    """The principal to sign from ``accounts.authenticate``'s answer: a member's carries
    their access level's permissions (``suivi_common.permissions``)."""
    granted = info.get("permissions")
    return Principal(info["user_id"], info["role"], info.get("network_id"),
                     None if granted is None else tuple(granted))


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class RequestAuth:
    def __init__(self, worker_ctx: Any, provider: Auth) -> None:
        self.worker_ctx = worker_ctx
        self.provider = provider

    def _accounts(self) -> Any:
        return self.worker_ctx.service.accounts

    def authenticate(self, token: str) -> dict[str, Any]:
        return _tokens.get(token_key(token), float(config.get("AUTH_CACHE_SECONDS", 2)),
                           lambda: self._accounts().as_service().authenticate(token))

    def require(self, request: Request, roles: tuple[str, ...] = (),
                terms_gate: bool = True, mfa_gate: bool = True) -> tuple[Principal, str]:
        return self.require_token(bearer_token(request), roles, terms_gate, mfa_gate)

    def require_token(self, token: str | None, roles: tuple[str, ...] = (),
                      terms_gate: bool = True, mfa_gate: bool = True) -> tuple[Principal, str]:
        """``require`` for a token from anywhere: the web office's session cookie holds the
        same opaque token as the bearer header, and passes through the same checks."""
        if token is None:
            raise Unauthorized("A bearer token is required", code="token_missing")
        info = self.authenticate(token)
        principal = principal_of(info)
        self.act_for(principal)
        if mfa_gate and info.get("mfa_enrolment_required", False):
            raise Forbidden("Enrol a second factor first (/api/me/mfa/totp)",
                            code="mfa_enrolment_required")
        if terms_gate and principal.is_member and not info.get("terms_accepted", False):
            raise Forbidden("Accept the current terms of service first", code="terms_not_accepted")
        if roles and principal.role not in roles:
            raise Forbidden("This action is not allowed for your role", code="forbidden_role")
        return principal, token

    def act_for(self, principal: Principal) -> None:
        """Every call made for this request from now on carries ``principal``, signed."""
        signed = principals.user_token(principal)
        self.worker_ctx.data[principals.PRINCIPAL_KEY] = signed
        setattr(self.worker_ctx, WORKER_PRINCIPAL, principal)
        setattr(self.worker_ctx, WORKER_TOKEN, signed)


class Auth(DependencyProvider):
    def get_dependency(self, worker_ctx: Any) -> RequestAuth:
        return RequestAuth(worker_ctx, self)
