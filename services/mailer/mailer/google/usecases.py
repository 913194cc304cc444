"""The Gmail link's use cases, one per entrypoint of ``entrypoints`` (which only builds the
``GoogleCtx`` and calls one of these).

They work through two ports, so their rules are tested without broker, database or
Google (``tests/unit/test_google_usecases.py``):

* ``LinkStore``: the two Google tables (``links.SqlLinks`` over the worker's session),
  and the key the PKCE verifier is derived with;
* ``Google``: the process's ``GmailChannel`` (its settings, its token store, its instance
  id, and the three calls to Google this flow makes).

``complete`` consumes the state in a transaction of its own *before* anything else, so a
state is good for one callback even when what follows fails.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from mailer.google import oauth
from mailer.google.config import GoogleSettings
from mailer.google.errors import GoogleRefused, GoogleUnavailable
from mailer.google.links import Link, PendingAuthorization
from mailer.google.tokens import TokenStore
from suivi_common import clock
from suivi_common.auth import Principal, require
from suivi_common.errors import Conflict, ServiceUnavailable

log = logging.getLogger("mailer.google.entrypoints")

RELINK = "relink_gmail"
MEMBERS = ("user", "admin")
LINKED = "google_linked"
UNLINKED = "google_unlinked"


class LinkStore(Protocol):
    def save_authorization(self, state_hash: str, user_id: str, binding_hash: str,
                           expires_at: datetime, now: datetime) -> None: ...

    def take_authorization(self, state_hash: str) -> PendingAuthorization | None:
        """Consume the state's row in a transaction of its own (committed at once)."""
        ...

    def save_link(self, user_id: str, address: str, now: datetime) -> Link: ...

    def get_link(self, user_id: str) -> Link | None: ...

    def delete_link(self, user_id: str) -> bool: ...

    def pkce_key(self) -> bytes: ...


class Google(Protocol):
    settings: GoogleSettings
    store: TokenStore
    instance_id: str

    def can_send(self, user_id: str) -> bool: ...

    def exchange_code(self, code: str, verifier: str) -> oauth.Grant: ...

    def verified_address(self, access_token: str) -> str: ...

    def revoke(self, token: str) -> bool: ...


@dataclass
class GoogleCtx:
    links: LinkStore
    google: Google
    principal: Principal | None
    #: ``(event_type, payload)``: a broadcast to every mailer instance.
    broadcast: Callable[[str, dict[str, Any]], None]


def status_of(link: Link | None, can_send: bool) -> dict[str, Any]:
    status: dict[str, Any] = {
        "linked": link is not None,
        "address": link.address if link else None,
        "linked_at": link.linked_at.isoformat() if link else None,
        "can_send": bool(link is not None and can_send),
    }
    if not status["can_send"]:
        status["reason"] = RELINK
    return status


def authorize(ctx: GoogleCtx) -> dict[str, Any]:
    """A new state and browser binding (hashes stored), and the Google URL."""
    principal = require(ctx.principal, *MEMBERS)
    settings = ctx.google.settings
    if not settings.enabled:
        raise Conflict("Gmail linking is not configured on this platform",
                       code="gmail_not_configured")
    state, binding = oauth.new_secret(), oauth.new_secret()
    now = clock.now()
    ctx.links.save_authorization(oauth.digest(state), principal.user_id, oauth.digest(binding),
                                 now + oauth.STATE_TTL, now)
    verifier = oauth.code_verifier(ctx.links.pkce_key(), state)
    return {"url": oauth.authorization_url(settings, state, verifier), "binding": binding,
            "expires_in": int(oauth.STATE_TTL.total_seconds())}


def complete(ctx: GoogleCtx, code: Any, state: Any, binding: str | None) -> dict[str, Any]:
    """The OAuth callback: the state (consumed first), the code exchanged with its PKCE
    verifier, the scopes and the verified address checked; the tokens stay in this
    process's memory, the link (address, time) is persisted, and the other instances drop
    any older token they held for the user."""
    pending = ctx.links.take_authorization(oauth.digest(str(state)))
    now = clock.now()
    google = ctx.google
    try:
        oauth.check_authorization(pending, binding, now)
        assert pending is not None
        verifier = oauth.code_verifier(ctx.links.pkce_key(), str(state))
        grant = google.exchange_code(str(code), verifier)
        address = google.verified_address(grant.access_token)
    except GoogleRefused as exc:
        raise Conflict(exc.message, code=exc.code) from None
    except GoogleUnavailable as exc:
        raise ServiceUnavailable(f"{exc}; start the link again shortly") from None
    link = ctx.links.save_link(pending.user_id, address, now)
    google.store.put(pending.user_id, address, grant.access_token, grant.refresh_token,
                     grant.expires_in)
    ctx.broadcast(LINKED, {"user_id": pending.user_id, "holder": google.instance_id})
    log.info("Gmail linked for user %s", pending.user_id)
    return {"user_id": pending.user_id, **status_of(link, True)}


def status(ctx: GoogleCtx) -> dict[str, Any]:
    principal = require(ctx.principal, *MEMBERS)
    return status_of(ctx.links.get_link(principal.user_id),
                     ctx.google.can_send(principal.user_id))


def unlink(ctx: GoogleCtx) -> dict[str, Any]:
    """Forget the link; the instance holding the token drops it and revokes it at Google."""
    principal = require(ctx.principal, *MEMBERS)
    revoked = forget(ctx.google, principal.user_id)
    ctx.links.delete_link(principal.user_id)
    ctx.broadcast(UNLINKED, {"user_id": principal.user_id, "holder": ctx.google.instance_id})
    log.info("Gmail unlinked for user %s", principal.user_id)
    return {**status_of(None, False), "revoked": revoked}


def on_linked(ctx: GoogleCtx, payload: Any) -> None:
    """Another instance holds this user's new token: the older one here goes (not revoked:
    it may be the same grant)."""
    if from_a_mailer(ctx.principal, payload) and payload.get("holder") != ctx.google.instance_id:
        ctx.google.store.drop(str(payload["user_id"]))


def on_unlinked(ctx: GoogleCtx, payload: Any) -> None:
    if from_a_mailer(ctx.principal, payload):
        forget(ctx.google, str(payload["user_id"]))


def from_a_mailer(principal: Principal | None, payload: Any) -> bool:
    """A broadcast signed by a mailer instance, naming a user: nobody else moves tokens."""
    return (principal is not None and principal.is_service and principal.user_id == "mailer"
            and isinstance(payload, dict) and isinstance(payload.get("user_id"), str))


def forget(google: Google, user_id: str) -> bool:
    """Drop the token held here, and revoke it at Google (the refresh token revokes the
    whole grant). True when Google confirmed."""
    token = google.store.drop(user_id)
    if token is None:
        return False
    return google.revoke(token.refresh_token or token.access_token)
