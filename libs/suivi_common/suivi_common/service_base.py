"""Entry points every service answers: health, dev clock, dead letters; and
``stat_counts`` for those that count statistics (``StatCounting``).

A service class inherits ``PlatformService`` (or ``StatCounting``) and declares
``db = Database(...)``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nameko.events import BROADCAST, event_handler
from nameko.rpc import rpc
from sqlalchemy import text

from suivi_common import clock, devclock, key_rotation, stats
from suivi_common.auth import CurrentPrincipal, Principal, require
from suivi_common.consumer import ReliableEventHandler
from suivi_common.container import INTERNAL_MARK
from suivi_common.database import READ_ONLY_MARK
from suivi_common.errors import EXPECTED_ERRORS, NotFound


def rpc_api(fn: Callable[..., Any]) -> Any:
    """An RPC whose typed errors are expected refusals, not crashes worth a stack trace."""
    return rpc(expected_exceptions=EXPECTED_ERRORS)(fn)


def rpc_query(fn: Callable[..., Any]) -> Any:
    """A read-only ``rpc_api``: its session runs in autocommit (no BEGIN and COMMIT round
    trips) and refuses writes. For hot reads whose statements need no shared snapshot,
    ideally a single statement."""
    setattr(fn, READ_ONLY_MARK, True)
    return rpc_api(fn)


def rpc_internal(fn: Callable[..., Any] | None = None, *,
                 services: tuple[str, ...] = ()) -> Any:
    """An ``rpc_api`` meant only for other services (or this one's timers): the container
    refuses any other caller (anonymous: 401, a user: 403) before the method runs.
    ``services`` narrows it to the named ones. ``internal_rpcs`` lists them."""
    def mark(f: Callable[..., Any]) -> Any:
        setattr(f, INTERNAL_MARK, tuple(services))
        return rpc_api(f)

    return mark(fn) if fn is not None else mark


def internal_rpcs(service_cls: type) -> dict[str, tuple[str, ...]]:
    """``{method: admitted services}`` of a service class's ``@rpc_internal`` methods."""
    found = {}
    for name in dir(service_cls):
        services = getattr(getattr(service_cls, name, None), INTERNAL_MARK, None)
        if services is not None:
            found[name] = services
    return found


def from_gateway(principal: Principal | None) -> bool:
    return principal is not None and principal.is_service and principal.user_id == "gateway"


class PlatformService:
    name: str
    db: Any
    principal = CurrentPrincipal()

    @rpc
    def health(self) -> dict[str, Any]:
        """"ok" once the database answers and every dependency that does start-up work
        (``ready = False`` until done, e.g. seeding) has finished it."""
        self.db.session.execute(text("SELECT 1"))
        pending = [type(d).__name__ for d in self.db._provider.container.dependencies
                   if getattr(d, "ready", True) is False]
        return {"service": self.name, "status": "starting" if pending else "ok",
                "now": clock.now().isoformat(), "clock_offset_seconds": clock.offset_seconds(),
                **({"pending": pending} if pending else {})}

    @event_handler("gateway", "clock_set", handler_type=BROADCAST, reliable_delivery=False)
    def on_clock_set(self, payload: dict[str, Any]) -> None:
        if from_gateway(self.principal):  # only the gateway moves the dev clock
            devclock.apply(payload)

    @rpc_api
    def list_dead_letters(self, include_replayed: bool = False) -> list[dict[str, Any]]:
        require(self.principal, "staff")
        letters: list[dict[str, Any]] = self.db._provider.list_dead_letters(include_replayed)
        return letters

    @rpc_api
    def rewrap_data_keys(self) -> dict[str, Any]:
        """A master-key rotation's work in this service (``suivi_common.key_rotation``);
        staff only (``python -m tools.rotate_master_key``, not routed by the gateway)."""
        require(self.principal, "staff")
        return key_rotation.rewrap_data_keys(self.db.keyring, self.name)

    @rpc_api
    def replay_dead_letter(self, letter_id: str) -> dict[str, Any]:
        require(self.principal, "staff")
        provider = self.db._provider
        row = provider.take_dead_letter(self.db.session, letter_id)
        if row is None:
            raise NotFound("No such dead letter waiting for replay")
        payload, _ = provider.open_dead_letter(self.db.session, row)
        for ep in provider.container.entrypoints:
            if isinstance(ep, ReliableEventHandler) and ep.handler_name == row.handler:
                ep.replay(payload, dict(row.headers), row.message_id)
                return {"id": letter_id, "replayed": True}
        raise NotFound("The handler of this dead letter no longer exists")


class StatCounting(PlatformService):
    """A service that counts statistics metrics where their data lives (admin tool 3):
    ``stat_counts`` is the same entrypoint in each, over the service's own use case
    (``count_stats = staticmethod(usecases.stats.stat_counts)``)."""

    count_stats: Callable[..., list[dict[str, Any]]]

    @rpc_query
    def stat_counts(self, metric: str, grouping: str, first: str, last: str,
                    split: list[str] | None = None) -> list[dict[str, Any]]:
        """A member's own counts, or the admin's network's (per member only for ``split``)."""
        return self.count_stats(self.db.session, stats.scope_for(self.principal, split), metric,
                                grouping, first, last)
