"""Where a live Google token lives: in the memory of the mailer process that obtained it,
and nowhere else.

Access and refresh tokens never touch a database table, a log line, an event, an RPC
answer or a dead letter. A ``TokenStore`` belongs to one mailer container (its ``Gmail``
dependency) and is shared with no one: not with other instances, not with other services.
``LiveToken``'s repr hides both tokens, and it refuses to be pickled.

What follows, on purpose:

* **Until when.** The access token is refreshed (with the refresh token) shortly before it
  expires; the pair is kept until the user unlinks, Google refuses it (401, or a refresh
  answered ``invalid_grant``), or the process stops.
* **Across restarts.** A restarted (or crashed) mailer holds no token. ``google_links``
  still says the user linked an address, so the API answers ``linked: true, can_send:
  false, reason: "relink_gmail"``: the user links again (one click at Google). Meanwhile
  nothing is lost: mail to leads goes through the platform's SMTP with ``Reply-To`` set to
  the user's address.
* **Several mailer instances.** The OAuth callback is an RPC any instance may answer (the
  state and the PKCE verifier need no memory, see ``oauth``); the instance that completes
  the link holds the token, and broadcasts ``google_linked`` (user id and holder id only):
  any other instance drops the older token it had for that user, so at most one holds it.
  ``google_unlinked`` reaches the holder, which drops the token and revokes it at Google.
  An instance without the token has ``can_send`` false for that user and its mail goes
  through SMTP with ``Reply-To``: never lost, never sent twice, only not through Gmail, and
  ``GET /api/mailer/google`` answers for the instance that took the call. Run the mailer as
  one instance to keep Gmail sending for everyone; more instances are a degraded mode
  (more SMTP), not an error. Sharing the tokens between instances would mean storing or
  sending them somewhere, which the terms rule out.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

#: Refresh this long before Google's expiry, so a send never starts on a dying token.
REFRESH_MARGIN_SECONDS = 120.0


@dataclass
class LiveToken:
    address: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float  # on the store's clock (monotonic seconds)

    def __repr__(self) -> str:
        return f"LiveToken(address={self.address!r}, expires_at={self.expires_at:.0f})"

    def __reduce__(self) -> NoReturn:  # never serialised: not into a queue, a file, a row
        raise TypeError("a live Google token cannot be serialised")

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - REFRESH_MARGIN_SECONDS


class TokenStore:
    """The live tokens of one mailer process, by user id. ``now`` is injectable (tests)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self._tokens: dict[str, LiveToken] = {}
        self._lock = threading.Lock()

    def put(self, user_id: str, address: str, access_token: str, refresh_token: str | None,
            expires_in: float) -> LiveToken:
        token = LiveToken(address, access_token, refresh_token, self.now() + expires_in)
        with self._lock:
            self._tokens[user_id] = token
        return token

    def get(self, user_id: str) -> LiveToken | None:
        """The user's token if it can still be used: fresh, or refreshable."""
        with self._lock:
            token = self._tokens.get(user_id)
        if token is None:
            return None
        if token.refresh_token is None and not token.fresh(self.now()):
            self.drop(user_id, token)
            return None
        return token

    def replace_access(self, user_id: str, old: LiveToken, access_token: str,
                       refresh_token: str | None, expires_in: float) -> LiveToken | None:
        """After a refresh: the new access token, unless the user unlinked or relinked
        meanwhile (then the newer state wins and None is answered)."""
        with self._lock:
            if self._tokens.get(user_id) is not old:
                return None
            token = LiveToken(old.address, access_token, refresh_token or old.refresh_token,
                              self.now() + expires_in)
            self._tokens[user_id] = token
            return token

    def drop(self, user_id: str, only: LiveToken | None = None) -> LiveToken | None:
        """Forget the user's token (``only``: if it is still that one)."""
        with self._lock:
            token = self._tokens.get(user_id)
            if token is None or (only is not None and token is not only):
                return None
            return self._tokens.pop(user_id)

    def holds(self, user_id: str) -> bool:
        return self.get(user_id) is not None

    def __len__(self) -> int:
        return len(self._tokens)

    def __reduce__(self) -> Any:
        raise TypeError("live Google tokens cannot be serialised")
