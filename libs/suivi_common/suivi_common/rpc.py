"""RPC between Suivi processes: ``ServiceRpc`` (a dependency) and ``RpcClient`` (for tools
and tests). Never use nameko's ``ClusterRpc``/``ServiceRpc``/``ClusterRpcClient``; the why,
at length, is in ARCHITECTURE.md ("Calling another service").

In short: nameko's reply consumer (3.0.0rc11), on (re)connecting with calls pending, checks
its reply queue with a passive declare and raises ``ReplyQueueExpiredWithPendingReplies``
in its managed thread, killing the container, when the queue is missing: at start-up
(it checks before its first declaration, while a worker may already be calling) and
after an outage (a broker restart drops the queue; five minutes without a consumer
expire it). This listener declares the queue on every (re)connection; if calls whose
requests already left are pending and the queue did not survive, exactly those fail at
once with ``RepliesLost`` (a 503 at the gateway), and a call still publishing with the
queue's declaration is left alone. Its thread restarts on anything unexpected. Waits
are bounded (``RPC_TIMEOUT_SECONDS``, default 30); a request renews the queue's lease at
most once a minute; replies are consumed without acks (only the waiting caller can use one).

Each call carries one signed principal (``suivi_common.principals``): a service calls as
itself; the gateway's clients (``acting_for_request=True``) carry the request's user (none
for an anonymous request), ``as_service()`` the gateway itself, and ``for_user()`` forwards
the gateway-signed user principal the current worker received.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import amqp.exceptions
import eventlet
import kombu
import kombu.exceptions
from eventlet.event import Event
from kombu import Queue
from nameko import config
from nameko.amqp.consume import Consumer
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    CALL_ID_STACK_CONTEXT_KEY,
    DEFAULT_AMQP_URI,
    DEFAULT_HEARTBEAT,
    DEFAULT_PREFETCH_COUNT,
    HEARTBEAT_CONFIG_KEY,
    LOGIN_METHOD_CONFIG_KEY,
    PREFETCH_COUNT_CONFIG_KEY,
)
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.messaging import encode_to_headers
from nameko.rpc import RPC_REPLY_QUEUE_TEMPLATE, RPC_REPLY_QUEUE_TTL, RpcCall, get_rpc_exchange

from suivi_common import principals, tls
from suivi_common.auth import WORKER_TOKEN, Principal, as_principal
from suivi_common.errors import RepliesLost, ServiceUnavailable

log = logging.getLogger(__name__)

#: Well inside nameko's reply-queue TTL, so the queue cannot expire between declarations.
REPLY_QUEUE_REDECLARE_SECONDS = min(60.0, RPC_REPLY_QUEUE_TTL / 1000 / 5)
#: What a broken broker link raises while publishing (a serialisation error is a bug: not here).
BROKER_ERRORS = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.OperationalError)


class PendingReply:
    """A call waiting for its reply. ``sent``: its request left without declaring the reply
    queue itself, so its reply is lost if the queue vanishes before the reply arrives."""

    __slots__ = ("event", "sent")

    def __init__(self) -> None:
        self.event = Event()
        self.sent = False


class _ReplyConsumer(Consumer):
    def __init__(self, listener: ReplyListener, *args: Any, **kwargs: Any) -> None:
        self.listener = listener
        super().__init__(*args, **kwargs)

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        """Called on every (re)connection: check for lost replies, then declare the queue
        (kombu's consumer declares it) and consume. Never raises anything but the broker's
        own errors, which make kombu reconnect."""
        self.listener.before_consuming(channel)
        consumers = super().get_consumers(consumer_cls, channel)
        self.listener.declared_at = time.monotonic()
        return consumers

    def on_message(self, body: Any, message: Any) -> None:
        # no acks (no_ack consumer), and a reply is still useful while stopping
        for callback in self.callbacks:
            callback(body, message)


class ReplyListener(SharedExtension):
    """The container's reply queue and its consumer, shared by every ``ServiceRpc``."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: Queue | None = None
        self.pending: dict[str, PendingReply] = {}
        self.declared_at: float | None = None
        self.lost = 0  # calls failed with RepliesLost, for tests and logs

    def setup(self) -> None:
        reply_id = str(uuid.uuid4())
        self.queue = Queue(RPC_REPLY_QUEUE_TEMPLATE.format(self.container.service_name, reply_id),
                           exchange=get_rpc_exchange(), routing_key=reply_id,
                           queue_arguments={"x-expires": RPC_REPLY_QUEUE_TTL})
        from nameko import serialization

        self.consumer = _ReplyConsumer(
            self, config.get(AMQP_URI_CONFIG_KEY, DEFAULT_AMQP_URI),
            ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
            queues=[self.queue], callbacks=[self._on_reply],
            heartbeat=config.get(HEARTBEAT_CONFIG_KEY, DEFAULT_HEARTBEAT),
            prefetch_count=config.get(PREFETCH_COUNT_CONFIG_KEY, DEFAULT_PREFETCH_COUNT),
            accept=serialization.setup().accept, no_ack=True)

    def start(self) -> None:
        self.container.spawn_managed_thread(self._consume, identifier="suivi.reply_listener")
        self.consumer.wait_until_consumer_ready()

    def stop(self) -> None:
        self.consumer.stop()

    def kill(self) -> None:
        self.consumer.stop()

    def _consume(self) -> None:
        """kombu reconnects on broker errors; anything else restarts the loop, never the
        container (an exception leaving a managed thread would kill it)."""
        while not self.consumer.should_stop:
            try:
                self.consumer.run()
            except Exception:
                log.exception("reply consumer failed; reconnecting")
                eventlet.sleep(1.0)

    # --- calls -----------------------------------------------------------------------------
    def register(self, correlation_id: str) -> PendingReply:
        entry = self.pending[correlation_id] = PendingReply()
        return entry

    def forget(self, correlation_id: str) -> None:
        self.pending.pop(correlation_id, None)

    def _on_reply(self, body: Any, message: Any) -> None:
        entry = self.pending.pop(message.properties.get("correlation_id"), None)
        if entry is not None:
            entry.event.send(body)

    # --- (re)connection ----------------------------------------------------------------
    def before_consuming(self, channel: Any) -> None:
        """Until the consumer has declared the queue again, requests declare it themselves;
        calls already sent lose their replies if the queue did not survive."""
        self.declared_at = None
        at_risk = [cid for cid, entry in self.pending.items() if entry.sent]
        if not at_risk or self._queue_exists(channel):
            return
        for cid in at_risk:
            entry = self.pending.pop(cid, None)
            if entry is not None:
                self.lost += 1
                entry.event.send_exception(RepliesLost(
                    "The reply to this call may have been lost; retry shortly."))
        log.warning("reply queue %s was gone on reconnection: %d pending call(s) failed",
                    self.queue.name if self.queue else "?", len(at_risk))

    def _queue_exists(self, channel: Any) -> bool:
        """A passive declare on a channel of its own (a 404 closes the channel it uses)."""
        probe = channel.connection.channel()
        try:
            probe.queue_declare(queue=self.queue.name, passive=True)  # type: ignore[union-attr]
            return True
        except amqp.exceptions.NotFound:
            return False
        finally:
            try:
                probe.close()
            except Exception:  # already closed by the 404
                pass


class _MethodsByName:
    """``proxy.method`` is ``proxy["method"]`` (dunder look-ups stay attribute errors)."""

    __slots__ = ()

    def __getattr__(self, method: str) -> RpcMethod:
        if method.startswith("__"):
            raise AttributeError(method)
        return self[method]

    def __getitem__(self, method: str) -> RpcMethod:
        raise NotImplementedError


class ServiceClient(_MethodsByName):
    """What a worker gets: ``client.method(*args)`` or ``client.method.call_async(...)``."""

    __slots__ = ("_rpc", "_worker_ctx", "_mode")

    def __init__(self, rpc: ServiceRpc, worker_ctx: Any, mode: str) -> None:
        self._rpc = rpc
        self._worker_ctx = worker_ctx
        self._mode = mode

    def __getitem__(self, method: str) -> RpcMethod:
        return RpcMethod(lambda args, kwargs: self._rpc.call(self, method, self._headers(),
                                                              args, kwargs))

    @property
    def service_name(self) -> str:
        return self._rpc.target_service

    def as_service(self) -> ServiceClient:
        """Calls carry this service's own principal (the gateway asking for itself)."""
        return ServiceClient(self._rpc, self._worker_ctx, SERVICE)

    def for_user(self) -> ServiceClient:
        """Calls carry, explicitly, the gateway-signed user principal this worker received
        (none if it received none): the callee then acts for that user."""
        return ServiceClient(self._rpc, self._worker_ctx, USER)

    def _token(self) -> str | None:
        if self._mode == SERVICE:
            return principals.service_token(self._rpc.container.service_name)
        if self._mode == REQUEST:
            return self._worker_ctx.data.get(principals.PRINCIPAL_KEY)  # type: ignore[no-any-return]
        return getattr(self._worker_ctx, WORKER_TOKEN, None)

    def _headers(self) -> dict[str, Any]:
        context = {k: v for k, v in self._worker_ctx.data.items()
                   if k not in principals.IDENTITY_KEYS}
        token = self._token()
        if token:
            context[principals.PRINCIPAL_KEY] = token
        headers: dict[str, Any] = encode_to_headers(context)
        return headers


class RpcMethod:
    """``client.method(*args)`` waits for the reply; ``.call_async(*args)`` does not."""

    __slots__ = ("_send",)

    def __init__(self, send: Callable[[tuple[Any, ...], dict[str, Any]], RpcCall]) -> None:
        self._send = send

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._send(args, kwargs).result()

    def call_async(self, *args: Any, **kwargs: Any) -> RpcCall:
        return self._send(args, kwargs)


SERVICE, REQUEST, USER = "service", "request", "user"


class ServiceRpc(DependencyProvider):
    """A client of one service, for a service's workers (see the module docstring)."""

    reply_listener = ReplyListener()

    def __init__(self, target_service: str, timeout: float | None = None,
                 acting_for_request: bool = False) -> None:
        self.target_service = target_service
        self.timeout = timeout
        self.mode = REQUEST if acting_for_request else SERVICE

    def setup(self) -> None:
        listener = self.reply_listener
        while listener.queue is None:  # the listener's setup runs concurrently
            eventlet.sleep(0.01)
        self.publisher = Publisher(
            config.get(AMQP_URI_CONFIG_KEY, DEFAULT_AMQP_URI), ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY), exchange=get_rpc_exchange(),
            serializer=self.container.serializer, reply_to=listener.queue.routing_key)

    def get_dependency(self, worker_ctx: Any) -> ServiceClient:
        return ServiceClient(self, worker_ctx, self.mode)

    def _reply_queue_due(self) -> list[Any]:
        """The reply queue to declare with this request, if its lease needs renewing (the
        consumer renews it too, on every (re)connection)."""
        listener = self.reply_listener
        declared_at = listener.declared_at
        if declared_at is not None and time.monotonic() - declared_at < REPLY_QUEUE_REDECLARE_SECONDS:
            return []
        return [listener.queue]

    def call(self, client: ServiceClient, method: str, headers: dict[str, Any],
             args: tuple[Any, ...], kwargs: dict[str, Any]) -> RpcCall:
        listener = self.reply_listener
        correlation_id = str(uuid.uuid4())
        entry = listener.register(correlation_id)
        declare = self._reply_queue_due()
        entry.sent = not declare
        try:
            self.publisher.publish({"args": args, "kwargs": kwargs},
                                   routing_key=f"{self.target_service}.{method}", mandatory=True,
                                   correlation_id=correlation_id, extra_headers=headers,
                                   declare=declare)
        except UndeliverableMessage:
            listener.forget(correlation_id)
            raise UnknownService(self.target_service) from None
        except BROKER_ERRORS as exc:
            listener.forget(correlation_id)
            log.warning("cannot publish to %s: %r", self.target_service, exc)
            raise ServiceUnavailable(f"{self.target_service} cannot be reached right now",
                                     code="broker_unavailable") from None
        except BaseException:
            listener.forget(correlation_id)
            raise
        entry.sent = True
        if declare:
            listener.declared_at = time.monotonic()
        timeout = float(self.timeout or config.get("RPC_TIMEOUT_SECONDS", 30))
        target = self.target_service

        def get_response() -> Any:
            try:
                with eventlet.Timeout(timeout):
                    return entry.event.wait()
            except eventlet.Timeout:
                listener.forget(correlation_id)
                raise RpcTimeout(f"no reply from {target} in {timeout:g}s") from None

        return RpcCall(correlation_id, lambda payload: None, get_response)


# --------------------------------------------------------------------------- standalone


class RpcClient:
    """A blocking RPC client for tools and tests, safe like ``ServiceRpc``:

        with RpcClient(uri, principal=Principal(...)) as rpc:   # a user, signed
            rpc.leads.office_list_leads()
        with RpcClient(uri, service="plans") as rpc:              # a service, signed
            rpc.leads.close_books("2026-03-01", [...])
        with RpcClient(uri) as rpc:                               # anonymous
            rpc.accounts.health()

    Its reply queue is exclusive to its connection: if the connection drops, the calls
    waiting then fail with ``RepliesLost`` and the next call reconnects with a fresh queue;
    nothing ever raises from a background thread, since there is none. Works with or
    without eventlet; one thread (or greenthread) at a time.

    ``token`` sends that exact principal token and ``context`` extra context keys: tests use
    them to send forged or expired principals and unsigned identity headers.
    """

    def __init__(self, uri: str | None = None, *, principal: Principal | Mapping[str, Any] | None = None,
                 service: str | None = None, timeout: float | None = 30.0,
                 token: str | None = None, context: Mapping[str, Any] | None = None,
                 key: bytes | None = None) -> None:
        self.uri = uri or config.get(AMQP_URI_CONFIG_KEY, DEFAULT_AMQP_URI)
        self.timeout = timeout
        self._principal = as_principal(principal)
        if principal is not None and self._principal is None:
            raise ValueError(f"not a principal: {principal!r}")
        self._service = service
        self._token = token
        self._key = key
        self._context = dict(context or {})
        self._id = str(uuid.uuid4())
        self._replies: dict[str, Any] = {}
        self._pending: set[str] = set()
        self._conn: kombu.Connection | None = None
        self._queue: Queue | None = None
        self._publisher: Publisher | None = None
        self._lock = threading.RLock()

    # --- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> RpcClient:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> RpcClient:
        with self._lock:
            self._connect()
        return self

    def stop(self) -> None:
        with self._lock:
            self._disconnect()

    def _connect(self) -> None:
        if self._conn is not None:
            return
        reply_id = f"{self._id}.{uuid.uuid4().hex[:8]}"
        queue = Queue(RPC_REPLY_QUEUE_TEMPLATE.format("standalone_rpc_client", reply_id),
                      exchange=get_rpc_exchange(), routing_key=reply_id, exclusive=True,
                      auto_delete=True)
        conn = kombu.Connection(self.uri, heartbeat=0, ssl=tls.ssl_for(self.uri))
        try:
            conn.ensure_connection(max_retries=3)
            channel = conn.channel()
            consumer = kombu.Consumer(channel, queues=[queue], callbacks=[self._on_reply],
                                      no_ack=True, accept=["json"])
            consumer.consume()
        except BaseException:
            conn.release()
            raise
        self._conn, self._queue = conn, queue
        self._publisher = Publisher(self.uri, exchange=get_rpc_exchange(), reply_to=reply_id,
                                    serializer="json", ssl=tls.ssl_for(self.uri))

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # already broken
                pass

    # --- calls -----------------------------------------------------------------------------
    def __getattr__(self, service: str) -> _StandaloneService:
        if service.startswith("_"):
            raise AttributeError(service)
        return _StandaloneService(self, service)

    def __getitem__(self, service: str) -> _StandaloneService:
        return _StandaloneService(self, service)

    def _principal_token(self) -> str | None:
        if self._token is not None:
            return self._token
        signer = principals.signer(self._key) if (self._principal or self._service) else None
        if self._service:
            assert signer is not None
            return signer.token(principals.service_principal(self._service))
        if self._principal is not None:
            assert signer is not None
            return signer.token(self._principal)
        return None

    def call_async(self, service: str, method: str, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> RpcCall:
        correlation_id = str(uuid.uuid4())
        context = dict(self._context)
        context[CALL_ID_STACK_CONTEXT_KEY] = [f"standalone_rpc_client.{self._id}.{uuid.uuid4()}"]
        token = self._principal_token()
        if token:
            context[principals.PRINCIPAL_KEY] = token
        with self._lock:
            self._connect()
            publisher = self._publisher
            assert publisher is not None
            self._pending.add(correlation_id)
            try:
                publisher.publish({"args": args, "kwargs": kwargs},
                                  routing_key=f"{service}.{method}", mandatory=True,
                                  correlation_id=correlation_id,
                                  extra_headers=encode_to_headers(context))
            except UndeliverableMessage:
                self._pending.discard(correlation_id)
                raise UnknownService(service) from None
            except BaseException:
                self._pending.discard(correlation_id)
                raise
        return RpcCall(correlation_id, lambda payload: None,
                       lambda: self._wait(correlation_id, service))

    def _wait(self, correlation_id: str, service: str) -> Any:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            with self._lock:
                if correlation_id in self._replies:
                    self._pending.discard(correlation_id)
                    return self._replies.pop(correlation_id)
                if correlation_id not in self._pending:
                    raise RepliesLost("The connection carrying this call's reply was lost")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    self._pending.discard(correlation_id)
                    raise RpcTimeout(f"no reply from {service} in {self.timeout:g}s")
                conn = self._conn
                assert conn is not None
                try:
                    conn.drain_events(timeout=min(1.0, left) if left is not None else 1.0)
                except TimeoutError:
                    continue
                except BROKER_ERRORS:
                    lost = len(self._pending)
                    self._pending.clear()
                    self._disconnect()
                    log.warning("rpc client connection lost: %d pending call(s) failed", lost)
                    raise RepliesLost("The connection carrying this call's reply was lost") from None

    def _on_reply(self, body: Any, message: Any) -> None:
        correlation_id = message.properties.get("correlation_id")
        if correlation_id in self._pending:
            self._replies[correlation_id] = body


class _StandaloneService(_MethodsByName):
    __slots__ = ("_client", "_service")

    def __init__(self, client: RpcClient, service: str) -> None:
        self._client = client
        self._service = service

    def __getitem__(self, method: str) -> RpcMethod:
        return RpcMethod(lambda args, kwargs: self._client.call_async(self._service, method,
                                                                       args, kwargs))
