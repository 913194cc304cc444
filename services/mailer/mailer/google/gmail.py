"""Sending through the Gmail API (``users.messages.send``) as the linked user.

``GmailChannel.send(user_id, message)`` takes an ``email.message.EmailMessage`` (RFC 5322,
built with the standard ``email`` package), sets ``From`` to the linked Google address
(keeping the display name), waits for the user's pacing slot (``pacing``, ~150 a minute)
and posts it base64url-encoded. It answers:

* ``True``: Gmail accepted it (sent once: a refused attempt is never counted as sent);
* ``False``: Gmail stayed unavailable (429, 5xx, network) through ``MAX_ATTEMPTS`` paced,
  backed-off attempts: nothing was sent, the caller keeps the message queued;
* ``NoLiveToken``: no usable token in this process, or Google refused it (401 after one
  refresh, a refresh answered ``invalid_grant``): the token is dropped, ``can_send`` is
  false (``relink_gmail``) and the caller sends through SMTP with ``Reply-To``;
* ``MessageRefused``: Gmail refused the message itself (400); retrying would not help.

The token is used only in the ``Authorization`` header; no URL, log line or exception
carries it.
"""
from __future__ import annotations

import base64
import copy
import logging
import threading
import uuid
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Any

import eventlet
import requests
from nameko.extensions import DependencyProvider

from mailer.google import oauth
from mailer.google.config import GoogleSettings
from mailer.google.errors import (
    GoogleRefused,
    GoogleUnavailable,
    MessageRefused,
    NoLiveToken,
    Paced,
)
from mailer.google.pacing import Pacer
from mailer.google.tokens import LiveToken, TokenStore
from suivi_common.settings import setting

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
#: 403 reasons that mean "slow down", not "no permission".
RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded", "concurrentLimitExceeded")


def with_sender(message: EmailMessage, address: str) -> EmailMessage:
    """A copy of ``message`` whose ``From`` is the Google address (display name kept):
    Gmail sends as the authenticated account whatever the header says."""
    msg = copy.deepcopy(message)
    name, _ = parseaddr(str(msg.get("From", "") or ""))
    del msg["From"]
    msg["From"] = formataddr((name, address)) if name else address
    return msg


def raw_of(message: EmailMessage) -> str:
    """The ``raw`` field of ``users.messages.send``: the RFC 5322 bytes, base64url."""
    return base64.urlsafe_b64encode(message.as_bytes(policy=policy.SMTP)).decode("ascii")


def _rate_limited_403(resp: requests.Response) -> bool:
    try:
        errors = resp.json().get("error", {}).get("errors", [])
        return any(e.get("reason") in RATE_REASONS for e in errors)
    except (ValueError, AttributeError):
        return False


def _retry_after(resp: requests.Response | None, attempt: int) -> float:
    if resp is not None:
        try:
            given = float(resp.headers.get("Retry-After", ""))
            return min(max(given, 0.0), MAX_BACKOFF_SECONDS)
        except ValueError:
            pass
    return min(BACKOFF_SECONDS * 2 ** attempt, MAX_BACKOFF_SECONDS)


class GmailChannel:
    """Process-wide (one per mailer container): tokens, pacing and the HTTP pool."""

    def __init__(self, settings: GoogleSettings, store: TokenStore, pacer: Pacer,
                 http: requests.Session, sleep: Callable[[float], None] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.pacer = pacer
        self.http = http
        self._sleep = sleep
        #: Names this process in the ``google_linked`` broadcasts (not a secret).
        self.instance_id = uuid.uuid4().hex
        self._refresh_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def sleep(self) -> Callable[[float], None]:
        return self._sleep or self.pacer.sleep

    def can_send(self, user_id: str) -> bool:
        """A usable token is held here (fresh or refreshable)."""
        return self.settings.enabled and self.store.holds(user_id)

    def exchange_code(self, code: str, verifier: str) -> oauth.Grant:
        """The link's authorization code (and PKCE verifier) for tokens (``oauth``)."""
        return oauth.exchange_code(self.settings, self.http, code, verifier)

    def verified_address(self, access_token: str) -> str:
        return oauth.userinfo_address(self.settings, self.http, access_token)

    def revoke(self, token: str) -> bool:
        return oauth.revoke(self.settings, self.http, token)

    def ready_in(self, user_id: str) -> float:
        """Seconds before a send for this user would leave at once (a dispatcher may serve
        other users meanwhile instead of blocking a worker in ``send``)."""
        return self.pacer.ready_in(user_id)

    def address(self, user_id: str) -> str | None:
        token = self.store.get(user_id)
        return token.address if token else None

    def send(self, user_id: str, message: EmailMessage, wait: bool = True) -> bool:
        """See the module. ``wait=False``: when the user's quota has no slot free, raise
        ``Paced`` (nothing sent) instead of waiting for it in this worker."""
        token = self.store.get(user_id)
        if token is None or not self.settings.enabled:
            raise NoLiveToken(user_id)
        raw = raw_of(with_sender(message, token.address))
        refreshed = False
        for attempt in range(MAX_ATTEMPTS):
            token = self._usable(user_id)
            if wait:
                self.pacer.acquire(user_id)
            else:
                delay = self.pacer.try_acquire(user_id)
                if delay > 0:
                    raise Paced(delay)
            try:
                resp = self.http.post(self.settings.endpoints.send, json={"raw": raw},
                                      timeout=self.settings.timeout,
                                      headers={"Authorization": f"Bearer {token.access_token}"})
            except requests.RequestException as exc:
                log.warning("Gmail send for user %s: %s (attempt %d/%d)", user_id,
                            type(exc).__name__, attempt + 1, MAX_ATTEMPTS)
                self.sleep(_retry_after(None, attempt))
                continue
            status = resp.status_code
            if 200 <= status < 300:
                return True
            if status == 401:
                if not refreshed and token.refresh_token:
                    refreshed = True
                    self._refresh(user_id, token)
                    continue
                self.store.drop(user_id)
                log.warning("Gmail refused the token of user %s: dropped (relink_gmail)", user_id)
                raise NoLiveToken(user_id, "Google refused the token")
            if status == 429 or status >= 500 or (status == 403 and _rate_limited_403(resp)):
                log.warning("Gmail send for user %s answered %d (attempt %d/%d)", user_id,
                            status, attempt + 1, MAX_ATTEMPTS)
                self.sleep(_retry_after(resp, attempt))
                continue
            if status == 403:  # no permission to send (scope withdrawn)
                self.store.drop(user_id)
                log.warning("Gmail forbids sending for user %s: token dropped", user_id)
                raise NoLiveToken(user_id, "Gmail forbids sending")
            raise MessageRefused(f"Gmail refused the message ({status})")
        log.warning("Gmail unavailable for user %s after %d attempts; not sent", user_id,
                    MAX_ATTEMPTS)
        return False

    def _lock(self, user_id: str) -> threading.Lock:
        with self._guard:
            return self._refresh_locks.setdefault(user_id, threading.Lock())

    def _usable(self, user_id: str) -> LiveToken:
        """The token, refreshed first if it is about to expire."""
        token = self.store.get(user_id)
        if token is None:
            raise NoLiveToken(user_id)
        if token.fresh(self.store.now()):
            return token
        return self._refresh(user_id, token)

    def _refresh(self, user_id: str, token: LiveToken) -> LiveToken:
        with self._lock(user_id):
            current = self.store.get(user_id)
            if current is None:
                raise NoLiveToken(user_id)
            if current is not token and current.fresh(self.store.now()):
                return current  # another send refreshed it meanwhile
            if not current.refresh_token:
                self.store.drop(user_id, current)
                raise NoLiveToken(user_id, "the access token expired")
            try:
                grant = oauth.refresh(self.settings, self.http, current.refresh_token)
            except GoogleRefused:
                self.store.drop(user_id, current)
                log.warning("Google refused the refresh of user %s: dropped (relink_gmail)",
                            user_id)
                raise NoLiveToken(user_id, "Google refused the refresh token") from None
            except GoogleUnavailable:
                return current  # try the old one; a 401 will come back here
            fresh = self.store.replace_access(user_id, current, grant.access_token,
                                              grant.refresh_token, grant.expires_in)
            if fresh is None:
                raise NoLiveToken(user_id, "unlinked meanwhile")
            return fresh


def http_session(settings: GoogleSettings) -> requests.Session:
    session = requests.Session()
    if settings.endpoints.on_loopback():
        session.trust_env = False  # never send loopback calls (the fake) through a proxy
    return session


class Gmail(DependencyProvider):
    """``self.gmail``: the container's ``GmailChannel``. Its token store lives and dies with
    the container (see ``mailer.google.tokens``)."""

    @property
    def secrets_used(self) -> tuple[str, ...]:
        """The client secret is checked at start-up in production once linking is on."""
        return ("GOOGLE_CLIENT_SECRET",) if setting("GOOGLE_CLIENT_ID") else ()

    def setup(self) -> None:
        settings = GoogleSettings.from_config()
        oauth.allow_plain_loopback(settings)
        self.channel = GmailChannel(settings, TokenStore(),
                                    Pacer(settings.sends_per_minute, sleep=eventlet.sleep),
                                    http_session(settings))

    def get_dependency(self, worker_ctx: Any) -> GmailChannel:
        return self.channel
