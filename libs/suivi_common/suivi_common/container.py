"""A nameko container that commits before it answers (``SERVICE_CONTAINER_CLS:
suivi_common.container.SuiviContainer``).

Stock nameko replies or acks (``handle_result``) *before* dependencies see
``worker_result``, so a commit there could fail after the caller was told "done". Here a
dependency may define ``before_call(worker_ctx) -> bool`` (a veto: inbox deduplication)
and ``before_result(worker_ctx, failed)`` (commit or roll back, before the reply or ack).
A failing commit becomes the worker's error; a lost database connection becomes
``DatabaseUnavailable``, which the caller may retry.

It also enforces the trust boundary once per worker, before anything sees the message
(``establish_principal``): the principal is verified for the kind of entrypoint, every
identity key leaves the context (nothing unsigned is forwarded), and an
``@rpc_internal`` method refuses any caller but a service.
"""
from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable
from typing import Any

from nameko import config
from nameko.containers import ServiceContainer
from nameko.events import EventHandler
from nameko.rpc import Rpc
from nameko.timer import Timer
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from suivi_common import principals, tls
from suivi_common.auth import WORKER_PRINCIPAL, WORKER_TOKEN, Principal, require_service
from suivi_common.database import ensure_green_psycopg
from suivi_common.errors import DatabaseUnavailable
from suivi_common.logs import is_refusal, log_context, log_refusal, set_service_name
from suivi_common.production import refuse_unsafe_secrets, secrets_used_by

log = logging.getLogger(__name__)

INBOX_CONTEXT_KEY = "suivi.inbox"
#: ``@rpc_internal`` marks its method with the services it admits (``()``: any service).
INTERNAL_MARK = "suivi_internal"


def establish_principal(worker_ctx: Any) -> Principal | None:
    """Verify the worker's principal once, keep it on the worker context, and strip every
    identity key from the context it would forward."""
    data = worker_ctx.data
    token = data.pop(principals.PRINCIPAL_KEY, None)
    for key in principals.IDENTITY_KEYS:
        data.pop(key, None)
    entrypoint = worker_ctx.entrypoint
    principal: Principal | None = None
    if isinstance(entrypoint, Timer):
        principal = principals.service_principal(worker_ctx.container.service_name)
    elif token is not None:
        audience = _audience(worker_ctx)
        if audience is not None:
            principal = principals.verify(token, audience)
    setattr(worker_ctx, WORKER_PRINCIPAL, principal)
    setattr(worker_ctx, WORKER_TOKEN,
            token if principal is not None and not principal.is_service else None)
    return principal


def _audience(worker_ctx: Any) -> str | None:
    """The audience a token must have been signed for, for this kind of entrypoint."""
    entrypoint = worker_ctx.entrypoint
    if isinstance(entrypoint, Rpc):
        return principals.AUD_RPC
    if isinstance(entrypoint, EventHandler):
        inbox = getattr(worker_ctx, "inbox", None)
        if inbox:  # a reliable handler's event: its token is bound to its message id
            return principals.event_audience(str(inbox["message_id"]))
        return principals.AUD_BROADCAST
    return None  # HTTP, the capture consumer: nothing in their context speaks for anyone


def check_access(worker_ctx: Any, method: Any) -> None:
    """``@rpc_internal``: only a service (or one of the named services) may call."""
    services = getattr(method, INTERNAL_MARK, None)
    if services is not None:
        require_service(getattr(worker_ctx, WORKER_PRINCIPAL, None), services)


def freeze_startup_heap() -> None:
    """Keep what start-up built (modules, schemas, mappers, pools) out of every later
    garbage collection.

    Under load, request objects caught in reference cycles reach the oldest generation,
    whose collections then walk the whole heap: 30-50 ms pauses that stall every
    request in flight, every second or two. Frozen objects are not walked (nor ever
    freed), so this runs once per process: a service process starts one container, and
    a test process that starts many must not pin each one's objects."""
    if _frozen:
        return
    gc.collect()
    gc.freeze()
    _frozen.append(True)


_frozen: list[bool] = []


def database_lost(exc: BaseException) -> bool:
    """The database connection died under the worker (SQLAlchemy saw a disconnect), or no
    connection could be opened (the server is down, restarting, or out of connections:
    an ``OperationalError`` that no statement raised)."""
    if isinstance(exc, DisconnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError) and exc.statement is None


def _database_unavailable(worker_ctx: Any, exc: BaseException) -> Any:
    """A lost connection is an outage, not a bug: one warning line, and a typed error the
    caller can act on (the gateway answers 503; a reliable handler retries)."""
    log.warning("%s: database connection lost (%s); the call failed and may be retried",
                worker_ctx.entrypoint.method_name, str(exc).splitlines()[0][:200])
    try:
        raise DatabaseUnavailable() from exc
    except DatabaseUnavailable:
        return sys.exc_info()


class SuiviContainer(ServiceContainer):
    def __init__(self, service_cls: type) -> None:
        super().__init__(service_cls)
        set_service_name(self.service_name)

    def start(self) -> None:
        refuse_unsafe_secrets(secrets_used_by(self))  # production: before connecting anywhere
        tls.configure_nameko(config)  # amqps://: AMQP_SSL for every connection nameko opens
        ensure_green_psycopg()
        super().start()
        freeze_startup_heap()

    def _hooks(self, name: str) -> list[Callable[..., Any]]:
        return [getattr(p, name) for p in self.dependencies if hasattr(p, name)]

    def _run_worker(self, worker_ctx: Any, handle_result: Callable[..., Any] | None) -> None:
        inbox = worker_ctx.data.pop(INBOX_CONTEXT_KEY, None)
        # only our own consumers set it; a caller's header claiming it is ignored
        worker_ctx.inbox = None if isinstance(worker_ctx.entrypoint, Rpc) else inbox
        principal = establish_principal(worker_ctx)
        data = worker_ctx.data
        with log_context(correlation_id=data.get("correlation_id") or worker_ctx.origin_call_id
                         or worker_ctx.call_id, user_id=principal.user_id if principal else None):
            self._inject_dependencies(worker_ctx)
            self._worker_setup(worker_ctx)
            result = exc_info = None
            method = getattr(worker_ctx.service, worker_ctx.entrypoint.method_name)
            try:
                check_access(worker_ctx, method)
                if all(hook(worker_ctx) for hook in self._hooks("before_call")):
                    result = method(*worker_ctx.args, **worker_ctx.kwargs)
            except Exception as exc:
                if is_refusal(exc, worker_ctx.entrypoint.expected_exceptions):
                    log_refusal(log, f"{self.service_name}.{worker_ctx.entrypoint.method_name}",
                                exc)
                    exc_info = sys.exc_info()
                elif database_lost(exc):
                    exc_info = _database_unavailable(worker_ctx, exc)
                elif isinstance(exc, DatabaseUnavailable):  # another service's, passed on
                    log.warning("%s: %s", worker_ctx.entrypoint.method_name, exc)
                    exc_info = sys.exc_info()
                else:
                    log.exception("error handling worker %s", worker_ctx)
                    exc_info = sys.exc_info()
            for hook in self._hooks("before_result"):
                try:
                    hook(worker_ctx, exc_info is not None)
                except Exception as exc:
                    if database_lost(exc):
                        lost = _database_unavailable(worker_ctx, exc)
                    else:
                        log.exception("commit failed for %s", worker_ctx)
                        lost = sys.exc_info()
                    if exc_info is None:
                        exc_info = lost
                        result = None
            if handle_result is not None:
                result, exc_info = handle_result(worker_ctx, result, exc_info)
            self._worker_result(worker_ctx, result, exc_info)
            del exc_info
            self._worker_teardown(worker_ctx)
            # The service instance and the worker context hold each other (through the
            # dependencies they were given); cut that cycle so a finished worker is freed at
            # once by reference counting instead of piling up for the garbage collector.
            worker_ctx.service = None
