"""The mailer's Google RPCs, as a mixin of ``MailerService``: each calls one use case of
``mailer.google.usecases`` (the rules are there and in ``oauth``, ``links``, ``gmail``).

* ``google_authorize()`` (a user or admin): a new state and browser binding, and the Google
  URL. The gateway sets the binding as a cookie of the session that asked.
* ``google_complete(code, state, binding)`` (the gateway only, at the OAuth callback,
  where the browser carries no bearer token: the state says who asked, the binding proves
  it is their browser): consumes the state in a transaction of its own, exchanges the code
  (PKCE), checks the scopes, reads the verified address, keeps the tokens in this
  process's memory and persists only ``{user_id, address, linked_at}``.
* ``google_status()`` / ``google_unlink()`` (the user): ``{linked, address, linked_at,
  can_send, reason?}``; unlinking forgets the token here and revokes it at Google.

At most one mailer instance holds a user's token: linking broadcasts ``google_linked``
(the user id and the holder's instance id, nothing else) and every other instance drops
the older token it had; unlinking broadcasts ``google_unlinked``, and the instance that
holds the token drops it and revokes it at Google. See ``tokens`` for restarts.
"""
from __future__ import annotations

from typing import Any

from nameko.events import BROADCAST, event_handler

from mailer.google import usecases
from mailer.google.gmail import Gmail
from mailer.google.links import SqlLinks
from mailer.google.usecases import GoogleCtx
from suivi_common.broadcast import EventDispatcher
from suivi_common.service_base import rpc_api, rpc_internal


class GoogleEntrypoints:
    db: Any
    principal: Any
    gmail = Gmail()
    google_broadcast = EventDispatcher()

    @property
    def google_ctx(self) -> GoogleCtx:
        return GoogleCtx(SqlLinks(self.db), self.gmail, self.principal, self.google_broadcast)

    @rpc_api
    def google_authorize(self) -> dict[str, Any]:
        return usecases.authorize(self.google_ctx)

    @rpc_internal(services=("gateway",))
    def google_complete(self, code: str, state: str, binding: str | None) -> dict[str, Any]:
        return usecases.complete(self.google_ctx, code, state, binding)

    @rpc_api
    def google_status(self) -> dict[str, Any]:
        return usecases.status(self.google_ctx)

    @rpc_api
    def google_unlink(self) -> dict[str, Any]:
        return usecases.unlink(self.google_ctx)

    @event_handler("mailer", usecases.LINKED, handler_type=BROADCAST, reliable_delivery=False)
    def on_google_linked(self, payload: dict[str, Any]) -> None:
        usecases.on_linked(self.google_ctx, payload)

    @event_handler("mailer", usecases.UNLINKED, handler_type=BROADCAST, reliable_delivery=False)
    def on_google_unlinked(self, payload: dict[str, Any]) -> None:
        usecases.on_unlinked(self.google_ctx, payload)
