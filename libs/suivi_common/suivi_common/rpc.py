"""``ServiceRpc`` with four fixes over nameko 3.0.0rc11's:

* a call to a service whose queue does not exist raises ``UnknownService`` but leaves its
  correlation id in the shared reply listener's ``pending``; the next reconnect of that
  listener then finds "lost replies" and kills the whole container. The publish is
  wrapped so an undeliverable request removes its own pending entry;
* replies are awaited with a timeout (``RPC_TIMEOUT_SECONDS``, default 30): a service
  that is down must cost the caller an error, not a request hanging forever;
* nameko re-declares the reply queue (exchange, queue and binding: three synchronous
  broker round trips) before *every* request, because the queue expires after 5 minutes
  unused. Redeclaring renews that lease, so declaring it at most once a minute keeps the
  same guarantee (the queue exists when the request leaves) for a third of the broker
  work per call;
* replies are consumed without acknowledgements: a reply only matters to the caller
  waiting in this process, so if the process dies the reply is useless anyway, and an
  ack per reply is a frame each way for nothing.
"""
from __future__ import annotations

import time
from typing import Any

import eventlet
from nameko import config
from nameko.amqp.publish import UndeliverableMessage
from nameko.exceptions import RpcTimeout
from nameko.rpc import RPC_REPLY_QUEUE_TTL, Client, ReplyListener
from nameko.rpc import ServiceRpc as NamekoServiceRpc

#: Well inside nameko's reply-queue TTL, so the queue cannot expire between declarations.
REPLY_QUEUE_REDECLARE_SECONDS = min(60.0, RPC_REPLY_QUEUE_TTL / 1000 / 5)


class AutoAckReplyListener(ReplyListener):
    """The reply queue's consumer, in no-ack mode (kombu then skips each ``ack``)."""

    def setup(self) -> None:
        super().setup()
        self.consumer.consumer_options["no_ack"] = True


class ServiceRpc(NamekoServiceRpc):
    reply_listener = AutoAckReplyListener()

    def __init__(self, target_service: str, timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(target_service, **kwargs)
        self.timeout = timeout

    def setup(self) -> None:
        super().setup()
        self.publisher.declare = []  # the reply queue is declared by _reply_queue_due
        # bound once: every worker gets a Client holding these two
        self._client_publish = self._publish
        self._client_register = self._register_for_reply

    def _reply_queue_due(self) -> list[Any]:
        """The reply queue to declare with this request, if its lease needs renewing.

        The time lives on the listener, which every ServiceRpc of a container shares."""
        listener = self.reply_listener
        declared_at = getattr(listener, "suivi_declared_at", None)
        if declared_at is not None and time.monotonic() - declared_at < REPLY_QUEUE_REDECLARE_SECONDS:
            return []
        return [listener.queue]

    def _publish(self, payload: Any, **kwargs: Any) -> Any:
        listener = self.reply_listener
        declare = self._reply_queue_due()
        try:
            result = self.publisher.publish(payload, declare=declare, **kwargs)
        except UndeliverableMessage:
            listener.pending.pop(kwargs.get("correlation_id"), None)
            raise
        if declare:
            listener.suivi_declared_at = time.monotonic()
        return result

    def _register_for_reply(self, correlation_id: str) -> Any:
        listener = self.reply_listener
        wait = listener.register_for_reply(correlation_id)
        timeout = float(self.timeout or config.get("RPC_TIMEOUT_SECONDS", 30))

        def wait_with_timeout() -> Any:
            try:
                with eventlet.Timeout(timeout):
                    return wait()
            except eventlet.Timeout:
                listener.pending.pop(correlation_id, None)
                raise RpcTimeout(f"no reply from {self.target_service} in {timeout:g}s") from None

        return wait_with_timeout

    def get_dependency(self, worker_ctx: Any) -> Any:
        return Client(self._client_publish, self._client_register, worker_ctx.context_data,
                      self.target_service)
