"""``EventDispatcher`` for fire-and-forget notices (the gateway's dev clock and token cache
broadcasts): like nameko's, but its events carry this service's signed principal (with the
broadcast audience) instead of whatever identity the worker's context held. Facts other
services must not miss go through the outbox (``db.emit``), never through this. Notices
honour their contracts (``suivi_common.events``) like outbox events."""
from __future__ import annotations

from typing import Any

from nameko.events import EventDispatcher as NamekoEventDispatcher
from nameko.messaging import encode_to_headers

from suivi_common import events, principals


class EventDispatcher(NamekoEventDispatcher):
    def get_dependency(self, worker_ctx: Any) -> Any:
        service_name = self.container.service_name

        def dispatch(event_type: str, event_data: Any) -> None:
            events.validate(event_type, event_data)
            context = {k: v for k, v in worker_ctx.data.items()
                       if k not in principals.IDENTITY_KEYS}
            context[principals.PRINCIPAL_KEY] = principals.service_token(
                service_name, principals.AUD_BROADCAST)
            self.publisher.publish(event_data, exchange=self.exchange, routing_key=event_type,
                                   extra_headers=encode_to_headers(context))

        return dispatch
