"""Linking a Google account: the authorization-code flow with PKCE (S256), through
requests-oauthlib.

The rules, kept plain so they are tested without broker or database:

* **Scopes:** exactly ``openid email https://www.googleapis.com/auth/gmail.send``. Google
  answers ``email`` as ``.../auth/userinfo.email``; anything more or less granted
  (granular consent lets the user untick Gmail) is refused: no partial link.
* **state:** 32 random bytes, single use, valid ``STATE_TTL``; only its hash is stored
  (``google_authorizations``), with the user and the hash of the browser binding (a cookie
  the gateway sets on the session that asked). A callback must bring the state *and* that
  cookie: a Google URL forwarded to someone else cannot link their Gmail to your account.
* **PKCE:** the verifier is an HMAC of the state under a key derived from the master key
  (``code_verifier``), so nothing secret is stored and any mailer instance can finish the
  flow; the challenge sent to Google is its SHA-256 (S256).
* Nothing here logs: requests-oauthlib logs token bodies at DEBUG, so its loggers are held
  at WARNING whatever ``LOG_LEVEL`` says. Exceptions carry our codes, never Google's text.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from mailer.google.config import GoogleSettings
from mailer.google.errors import GoogleRefused, GoogleUnavailable
from suivi_common.settings import is_dev

GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
SCOPES = ("openid", "email", GMAIL_SEND)
#: How Google spells back the scopes we ask for.
SCOPE_ALIASES = {"https://www.googleapis.com/auth/userinfo.email": "email"}
STATE_TTL = timedelta(minutes=10)
PKCE_PURPOSE = "mailer-google-pkce"

for _name in ("requests_oauthlib", "oauthlib"):  # they log tokens and bodies at DEBUG
    logging.getLogger(_name).setLevel(logging.WARNING)


def allow_plain_loopback(settings: GoogleSettings) -> None:
    """oauthlib refuses http endpoints; the local fake speaks plain http on loopback, which
    is allowed in dev and tests only (production refuses non-https endpoints at start-up)."""
    if is_dev() and settings.endpoints.on_loopback():
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def new_secret() -> str:
    """A state or a browser binding: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def code_verifier(key: bytes, state: str) -> str:
    """RFC 7636 verifier (43 URL-safe characters) derived from the state: recomputed at the
    callback instead of being stored."""
    return _b64url(hmac.new(key, b"pkce:" + state.encode(), hashlib.sha256).digest())


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(verifier)))."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def normalise_scopes(granted: str | Iterable[str] | None) -> frozenset[str]:
    if granted is None:
        return frozenset()
    items = granted.split() if isinstance(granted, str) else list(granted)
    return frozenset(SCOPE_ALIASES.get(s, s) for s in items)


def check_scopes(granted: str | Iterable[str] | None) -> None:
    """Exactly the three scopes asked, else ``GoogleRefused('scope_refused')``."""
    if normalise_scopes(granted) != frozenset(SCOPES):
        raise GoogleRefused("scope_refused", "Google did not grant exactly the scopes asked")


def authorization_url(settings: GoogleSettings, state: str, verifier: str) -> str:
    """Where to send the browser. ``access_type=offline`` and ``prompt=consent`` make Google
    give a refresh token each time; no ``include_granted_scopes``, which would add any
    scope granted before."""
    session = OAuth2Session(settings.client_id, redirect_uri=settings.redirect_uri,
                            scope=list(SCOPES))
    url, _ = session.authorization_url(settings.endpoints.authorize, state=state,
                                       code_challenge=code_challenge(verifier),
                                       code_challenge_method="S256",
                                       access_type="offline", prompt="consent")
    return str(url)


@dataclass(frozen=True)
class Grant:
    """What the token endpoint gave: held in memory only (see ``tokens``)."""
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: float
    scopes: frozenset[str]


def _grant(token: dict[str, Any], previous_refresh: str | None = None) -> Grant:
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise GoogleRefused("no_access_token", "Google answered no access token")
    refresh = token.get("refresh_token") or previous_refresh
    try:
        expires_in = float(token.get("expires_in") or 3600)
    except (TypeError, ValueError):
        expires_in = 3600.0
    return Grant(access, refresh if isinstance(refresh, str) else None, expires_in,
                 normalise_scopes(token.get("scope")))


def _token_call(fetch: Any) -> dict[str, Any]:
    """Run an OAuth2Session token call; our errors, never the server's words."""
    try:
        return dict(fetch())
    except Warning as changed:  # oauthlib: "scope has changed" (Google expands ``email``)
        token = getattr(changed, "token", None)
        if token is None:
            raise GoogleRefused("scope_refused") from None
        return dict(token)
    except OAuth2Error as exc:
        raise GoogleRefused(str(getattr(exc, "error", "") or "oauth_error")[:40]) from None
    except requests.RequestException as exc:
        raise GoogleUnavailable(f"Google token endpoint unreachable ({type(exc).__name__})") \
            from None
    except ValueError:  # not JSON (a 5xx page)
        raise GoogleUnavailable("Google token endpoint answered no token") from None


def exchange_code(settings: GoogleSettings, http: requests.Session, code: str,
                  verifier: str) -> Grant:
    """The authorization code (and PKCE verifier) for tokens, with exactly our scopes."""
    session = OAuth2Session(settings.client_id, redirect_uri=settings.redirect_uri,
                            scope=list(SCOPES))
    session.trust_env = http.trust_env
    token = _token_call(lambda: session.fetch_token(
        settings.endpoints.token, code=code, code_verifier=verifier,
        client_secret=settings.client_secret, include_client_id=True,
        timeout=settings.timeout))
    grant = _grant(token)
    check_scopes(grant.scopes)
    return grant


def refresh(settings: GoogleSettings, http: requests.Session, refresh_token: str) -> Grant:
    """A new access token from the refresh token; ``GoogleRefused('invalid_grant')`` once
    the user or Google revoked it."""
    session = OAuth2Session(settings.client_id, scope=list(SCOPES))
    session.trust_env = http.trust_env
    token = _token_call(lambda: session.refresh_token(
        settings.endpoints.token, refresh_token=refresh_token,
        client_id=settings.client_id, client_secret=settings.client_secret,
        timeout=settings.timeout))
    grant = _grant(token, previous_refresh=refresh_token)
    if grant.scopes:
        check_scopes(grant.scopes)
    return grant


def userinfo_address(settings: GoogleSettings, http: requests.Session, access_token: str) -> str:
    """The account's verified address (OpenID userinfo)."""
    try:
        resp = http.get(settings.endpoints.userinfo, timeout=settings.timeout,
                        headers={"Authorization": f"Bearer {access_token}"})
    except requests.RequestException as exc:
        raise GoogleUnavailable(f"Google userinfo unreachable ({type(exc).__name__})") from None
    if resp.status_code >= 500:
        raise GoogleUnavailable(f"Google userinfo answered {resp.status_code}")
    if resp.status_code != 200:
        raise GoogleRefused("userinfo_refused", f"Google userinfo answered {resp.status_code}")
    try:
        info = resp.json()
    except ValueError:
        raise GoogleUnavailable("Google userinfo answered no JSON") from None
    address = info.get("email") if isinstance(info, dict) else None
    if not isinstance(address, str) or "@" not in address or not address.isprintable() \
            or len(address) > 254:
        raise GoogleRefused("no_address", "Google gave no email address")
    if info.get("email_verified") is not True:
        raise GoogleRefused("address_unverified", "The Google address is not verified")
    return address


def revoke(settings: GoogleSettings, http: requests.Session, token: str) -> bool:
    """Revoke at Google (a refresh token revokes the whole grant). The token goes in the
    form body, never in the URL (which proxies and access logs keep)."""
    try:
        resp = http.post(settings.endpoints.revoke, data={"token": token},
                         timeout=settings.timeout)
    except requests.RequestException:
        return False
    return resp.status_code == 200


def check_authorization(pending: Any, binding: str | None, now: Any) -> None:
    """The rules a callback's state must pass: known and unused (``pending`` is the row
    the callback consumed, None if there was none), not expired, and brought back by the
    browser session that asked (its binding cookie)."""
    if pending is None:
        raise GoogleRefused("state_invalid", "This link attempt is unknown or was already used")
    if pending.expires_at <= now:
        raise GoogleRefused("state_expired", "This link attempt expired; start again")
    if not binding or not hmac.compare_digest(pending.binding_hash, digest(binding)):
        raise GoogleRefused("state_not_bound",
                            "This link attempt was started from another browser session")
