"""Who may reach an office: its owner while the subscription runs (terms art. 10), and the
network admin unless the owner turned admin access off (art. 5). ``require_office_open``
is the one office-open check of the service: the office's entrypoints and the take use it.

The office state comes from the leads service's ``offices`` read model (fed by accounts'
subscription events, read-only here); for a user it does not know yet, accounts is asked
(``office_active``) and the answer kept a short while per instance. Admin access is asked
of accounts (``admin_can_view``) and a positive answer kept a few seconds (the gateway asks
afresh on every request, so an opt-out is effective at once at the door). Calls go through
``suivi_common.rpc.ServiceRpc`` (timeout, safe with an absent service), as leads: both
RPCs are for services only. Accounts being unreachable is a refusal to retry, never an
open door.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from nameko.exceptions import RpcTimeout, UnknownService
from nameko.extensions import DependencyProvider
from sqlalchemy import select
from sqlalchemy.orm import Session

from leads.models import office_leads
from leads.settings import TUNABLES
from leads.usecases.entitlements import office_state
from suivi_common.auth import Principal, require
from suivi_common.errors import Conflict, Forbidden, NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

MEMBER_ROLES = ("user", "admin")


def member(principal: Principal | None) -> Principal:
    """Users and admins, each in a network (their leads are keyed to it)."""
    p = require(principal, *MEMBER_ROLES)
    if not p.network_id:
        raise Forbidden("This action needs a network", code="network_required")
    return p


def network_of(p: Principal) -> str:
    """The network of a caller ``member`` let through (it refuses callers without one)."""
    if p.network_id is None:
        raise Forbidden("This action needs a network", code="network_required")
    return p.network_id


class _TtlCache:
    def __init__(self) -> None:
        self._data: dict[tuple[str, ...], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> bool | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or hit[0] < time.monotonic():
                self._data.pop(key, None)
                return None
            return hit[1]

    def put(self, key: tuple[str, ...], value: bool, ttl: float) -> None:
        if ttl > 0:
            with self._lock:
                if len(self._data) > 50_000:
                    self._data.clear()
                self._data[key] = (time.monotonic() + ttl, value)


class AccessCache(DependencyProvider):
    """accounts' recent answers about offices and admin access, per instance."""

    def setup(self) -> None:
        self.offices = _TtlCache()
        self.views = _TtlCache()

    def get_dependency(self, worker_ctx: Any) -> AccessCache:
        return self


def _ask(accounts: Any, method: str, *args: Any) -> Any:
    try:
        return getattr(accounts, method)(*args)
    except (UnknownService, RpcTimeout, ServiceUnavailable) as exc:
        log.warning("accounts.%s unavailable: %r", method, exc)
        raise Conflict("Access cannot be checked right now; try again",
                       code="office_status_unavailable") from None


def office_active(cache: AccessCache, accounts: Any, user_id: str) -> bool:
    cached = cache.offices.get((user_id,))
    if cached is not None:
        return cached
    answer = _ask(accounts, "office_active", user_id)
    active = bool(answer.get("active") if isinstance(answer, dict) else answer)
    cache.offices.put((user_id,), active, TUNABLES.get_float("OFFICE_STATUS_CACHE_SECONDS"))
    return active


def admin_can_view(cache: AccessCache, accounts: Any, admin_id: str, member_id: str) -> bool:
    if cache.views.get((admin_id, member_id)):
        return True
    allowed = bool(_ask(accounts, "admin_can_view", admin_id, member_id))
    if allowed:
        cache.views.put((admin_id, member_id), True, TUNABLES.get_float("OFFICE_ADMIN_VIEW_CACHE_SECONDS"))
    return allowed


def require_office_open(session: Session, cache: AccessCache, accounts: Any,
                        user_id: str) -> None:
    """Leads are reachable only while the office subscription runs (terms art. 10)."""
    state = office_state(session, user_id)
    if state is None:
        state = office_active(cache, accounts, user_id)
    if not state:
        raise Forbidden("This office is closed: a subscription is needed to reach its leads",
                        code="office_inactive")


def require_admin_view(session: Session, cache: AccessCache, accounts: Any, admin: Principal,
                       member_id: str) -> None:
    """The admin of the member's network, unless the member turned admin access off."""
    if member_id == admin.user_id:
        return
    if admin_can_view(cache, accounts, admin.user_id, member_id):
        return
    elsewhere = session.execute(
        select(office_leads.c.id).where(office_leads.c.owner_id == member_id,
                                        office_leads.c.network_id != admin.network_id,
                                        office_leads.c.deleted_at.is_(None))
        .limit(1)).first()
    if elsewhere is not None:  # a member of another network looks like a missing one
        raise NotFound("No such member")
    raise Forbidden("This member has turned admin access off", code="admin_access_refused")
