"""Redaction of what a listing must not show: email addresses and links.

A dead letter holds an event's payload and its handler's error. Staff list them to decide
what to replay, and must not read in passing a member's email address or a set-password link
(a one-time credential). The listing shows the shape with those values replaced; the replay
still uses the sealed payload, whole.

Replaced: every email address and every link (``scheme://...`` or ``www....``) in any string,
keys included, and the whole value of a key that names an email, a link or a token
(``email``, ``admin_email``, ``link``, ``set_password_url``, ``token``...).
"""
from __future__ import annotations

import re
from typing import Any

EMAIL = "[email]"
LINK = "[link]"
SECRET = "[redacted]"

_EMAIL = re.compile(r"[^\s@<>()\"',;:\[\]]+@[^\s@<>()\"',;:\[\]]+\.[^\s@<>()\"',;:\[\]]+")
_LINK = re.compile(r"\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"']+", re.IGNORECASE)
_SENSITIVE_KEY = re.compile(r"(?:^|_)(?:e?mail|email_address|link|url|token)s?$", re.IGNORECASE)


def redact_text(text: str) -> str:
    return _EMAIL.sub(EMAIL, _LINK.sub(LINK, text))


def redact(value: Any) -> Any:
    """A copy of ``value`` (JSON-like) with emails and links replaced."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = redact_text(key) if isinstance(key, str) else key
            if isinstance(key, str) and _SENSITIVE_KEY.search(key) and item not in (None, ""):
                out[name] = SECRET if not isinstance(item, str) else _sensitive(item)
            else:
                out[name] = redact(item)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value


def _sensitive(text: str) -> str:
    redacted = redact_text(text)
    return redacted if redacted != text else SECRET
