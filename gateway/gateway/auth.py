"""Authentication and authorisation in one place.

A bearer token is checked by the accounts service; the answer is cached for a
couple of seconds so a burst of requests costs one RPC, and evicted at once on
logout or terms acceptance (locally, and on every gateway instance through a
broadcast). The principal is then written into the worker's RPC context, so every
service sees who is asking and checks ownership against its own data.
"""
from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from nameko import config
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from suivi_common.auth import Principal
from suivi_common.errors import Forbidden, Unauthorized

_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def evict_token(key: str) -> None:
    with _lock:
        _cache.pop(key, None)


def evict_user(user_id: str) -> None:
    with _lock:
        for key in [k for k, (_, p) in _cache.items() if p.get("user_id") == user_id]:
            _cache.pop(key, None)


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
        key = token_key(token)
        ttl = float(config.get("AUTH_CACHE_SECONDS", 2))
        cached = _cache.get(key)
        if cached and time.monotonic() - cached[0] < ttl:
            return cached[1]
        info = self._accounts().authenticate(token)
        with _lock:
            _cache[key] = (time.monotonic(), info)
        return info

    def require(self, request: Request, roles: tuple[str, ...] = (),
                terms_gate: bool = True) -> tuple[Principal, str]:
        token = bearer_token(request)
        if token is None:
            raise Unauthorized("A bearer token is required", code="token_missing")
        info = self.authenticate(token)
        principal = Principal(info["user_id"], info["role"], info.get("network_id"))
        self.worker_ctx.data.update(principal.to_context())
        if terms_gate and principal.is_member and not info.get("terms_accepted", False):
            raise Forbidden("Accept the current terms of service first", code="terms_not_accepted")
        if roles and principal.role not in roles:
            raise Forbidden("This action is not allowed for your role", code="forbidden_role")
        return principal, token


class Auth(DependencyProvider):
    def get_dependency(self, worker_ctx: Any) -> RequestAuth:
        return RequestAuth(worker_ctx, self)
