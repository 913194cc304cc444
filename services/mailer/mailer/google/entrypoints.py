"""The mailer's Google RPCs, as a mixin of ``MailerService`` (thin: the rules are in
``oauth``, ``links``, ``gmail``).

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

import logging
from typing import Any

from nameko.events import BROADCAST, event_handler

from mailer.google import links, oauth
from mailer.google.errors import GoogleRefused, GoogleUnavailable
from mailer.google.gmail import Gmail
from suivi_common import clock
from suivi_common.auth import require
from suivi_common.broadcast import EventDispatcher
from suivi_common.errors import Conflict, ServiceUnavailable
from suivi_common.service_base import rpc_api, rpc_internal

log = logging.getLogger(__name__)

RELINK = "relink_gmail"
MEMBERS = ("user", "admin")


def status_of(link: links.Link | None, can_send: bool) -> dict[str, Any]:
    status: dict[str, Any] = {
        "linked": link is not None,
        "address": link.address if link else None,
        "linked_at": link.linked_at.isoformat() if link else None,
        "can_send": bool(link is not None and can_send),
    }
    if not status["can_send"]:
        status["reason"] = RELINK
    return status


class GoogleEntrypoints:
    db: Any
    principal: Any
    gmail = Gmail()
    google_broadcast = EventDispatcher()

    @rpc_api
    def google_authorize(self) -> dict[str, Any]:
        principal = require(self.principal, *MEMBERS)
        settings = self.gmail.settings
        if not settings.enabled:
            raise Conflict("Gmail linking is not configured on this platform",
                           code="gmail_not_configured")
        state, binding = oauth.new_secret(), oauth.new_secret()
        now = clock.now()
        links.save_authorization(self.db.session, oauth.digest(state), principal.user_id,
                                 oauth.digest(binding), now + oauth.STATE_TTL, now)
        verifier = oauth.code_verifier(self.db.vault.subkey(oauth.PKCE_PURPOSE), state)
        return {"url": oauth.authorization_url(settings, state, verifier), "binding": binding,
                "expires_in": int(oauth.STATE_TTL.total_seconds())}

    @rpc_internal(services=("gateway",))
    def google_complete(self, code: str, state: str, binding: str | None) -> dict[str, Any]:
        with self.db.autonomous() as tx:  # consumed even if what follows fails: single use
            pending = links.take_authorization(tx, oauth.digest(str(state)))
        now = clock.now()
        channel = self.gmail
        try:
            oauth.check_authorization(pending, binding, now)
            assert pending is not None
            verifier = oauth.code_verifier(self.db.vault.subkey(oauth.PKCE_PURPOSE), str(state))
            grant = oauth.exchange_code(channel.settings, channel.http, str(code), verifier)
            address = oauth.userinfo_address(channel.settings, channel.http, grant.access_token)
        except GoogleRefused as exc:
            raise Conflict(exc.message, code=exc.code) from None
        except GoogleUnavailable as exc:
            raise ServiceUnavailable(f"{exc}; start the link again shortly") from None
        link = links.save_link(self.db.session, self.db.vault, pending.user_id, address, now)
        channel.store.put(pending.user_id, address, grant.access_token, grant.refresh_token,
                          grant.expires_in)
        self.google_broadcast("google_linked", {"user_id": pending.user_id,
                                                "holder": channel.instance_id})
        log.info("Gmail linked for user %s", pending.user_id)
        return {"user_id": pending.user_id, **status_of(link, True)}

    @rpc_api
    def google_status(self) -> dict[str, Any]:
        principal = require(self.principal, *MEMBERS)
        link = links.get_link(self.db.session, self.db.vault, principal.user_id)
        return status_of(link, self.gmail.can_send(principal.user_id))

    @rpc_api
    def google_unlink(self) -> dict[str, Any]:
        principal = require(self.principal, *MEMBERS)
        revoked = self._forget(principal.user_id)
        links.delete_link(self.db.session, principal.user_id)
        self.google_broadcast("google_unlinked", {"user_id": principal.user_id,
                                                  "holder": self.gmail.instance_id})
        log.info("Gmail unlinked for user %s", principal.user_id)
        return {**status_of(None, False), "revoked": revoked}

    @event_handler("mailer", "google_linked", handler_type=BROADCAST, reliable_delivery=False)
    def on_google_linked(self, payload: dict[str, Any]) -> None:
        """Another instance holds this user's new token: the older one here goes (not
        revoked: it may be the same grant)."""
        if self._from_a_mailer(payload) and payload.get("holder") != self.gmail.instance_id:
            self.gmail.store.drop(str(payload["user_id"]))

    @event_handler("mailer", "google_unlinked", handler_type=BROADCAST, reliable_delivery=False)
    def on_google_unlinked(self, payload: dict[str, Any]) -> None:
        if self._from_a_mailer(payload):
            self._forget(str(payload["user_id"]))

    def _from_a_mailer(self, payload: Any) -> bool:
        principal = self.principal
        return (principal is not None and principal.is_service
                and principal.user_id == "mailer" and isinstance(payload, dict)
                and isinstance(payload.get("user_id"), str))

    def _forget(self, user_id: str) -> bool:
        """Drop the token held here, and revoke it at Google (the refresh token revokes
        the whole grant). True when Google confirmed."""
        token = self.gmail.store.drop(user_id)
        if token is None:
            return False
        channel = self.gmail
        return oauth.revoke(channel.settings, channel.http,
                            token.refresh_token or token.access_token)
