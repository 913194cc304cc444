"""``ServiceRpc`` with two fixes over nameko 3.0.0rc11's:

* a call to a service whose queue does not exist raises ``UnknownService`` but leaves its
  correlation id in the shared reply listener's ``pending``; the next reconnect of that
  listener then finds "lost replies" and kills the whole container. The publish is
  wrapped so an undeliverable request removes its own pending entry;
* replies are awaited with a timeout (``RPC_TIMEOUT_SECONDS``, default 30): a service
  that is down must cost the caller an error, not a request hanging forever.
"""
from __future__ import annotations

from typing import Any

import eventlet
from nameko import config
from nameko.amqp.publish import UndeliverableMessage
from nameko.exceptions import RpcTimeout
from nameko.rpc import Client
from nameko.rpc import ServiceRpc as NamekoServiceRpc


class ServiceRpc(NamekoServiceRpc):
    def __init__(self, target_service: str, timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(target_service, **kwargs)
        self.timeout = timeout

    def get_dependency(self, worker_ctx: Any) -> Any:
        listener = self.reply_listener
        timeout = float(self.timeout or config.get("RPC_TIMEOUT_SECONDS", 30))

        def publish(payload: Any, **kwargs: Any) -> Any:
            try:
                return self.publisher.publish(payload, **kwargs)
            except UndeliverableMessage:
                listener.pending.pop(kwargs.get("correlation_id"), None)
                raise

        def register_for_reply(correlation_id: str) -> Any:
            wait = listener.register_for_reply(correlation_id)

            def wait_with_timeout() -> Any:
                try:
                    with eventlet.Timeout(timeout):
                        return wait()
                except eventlet.Timeout:
                    listener.pending.pop(correlation_id, None)
                    raise RpcTimeout(f"no reply from {self.target_service} in {timeout:g}s") from None

            return wait_with_timeout

        client = Client(publish, register_for_reply, worker_ctx.context_data)
        return getattr(client, self.target_service)
