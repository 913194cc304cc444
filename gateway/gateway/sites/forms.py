"""The capture form's own checks, made at the door before anything is stored.

* **Minimum fill time.** Each rendered form carries a token signed by the gateway:
  ``<issued>.<page>.<notice digest>.<mac>``, the issue time in seconds of the platform
  clock. A submission sooner than ``SITE_FORM_MIN_SECONDS`` after it, or later than
  ``SITE_FORM_MAX_AGE_SECONDS``, or with a token that is not ours (forged, for another
  site or page) is refused: a bot posting straight at the URL has no token, and one
  fetching the page and posting at once is too fast. The key is derived from the
  platform's principal key (only the platform's processes hold it), under a purpose of
  its own, so the token can never pass for anything else.
* **The notice shown.** The digest binds the token to the exact information notice that
  was on the page: if the admin changed the notice since, the visitor is shown the new
  one and asked again, and what leads records is always what the visitor saw.
* **Honeypot.** A field people never see (``website``) must come back empty.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl

from suivi_common.errors import Invalid
from suivi_common.principals import load_principal_key
from suivi_common.settings import setting

HONEYPOT = "website"
TOKEN_FIELD = "form_token"
MAX_FIELDS = 500  # a boutique sends a quantity per product; the body is bounded anyway


@functools.cache
def _key() -> bytes:
    return hmac.new(load_principal_key(), b"suivi:site-form:v1", hashlib.sha256).digest()


def notice_digest(notice: str) -> str:
    return hashlib.sha256(notice.encode()).hexdigest()[:32]


def _mac(slug: str, kind: str, issued: int, page_id: str, digest: str) -> str:
    msg = f"{slug}|{kind}|{issued}|{page_id}|{digest}".encode()
    return hmac.new(_key(), msg, hashlib.sha256).hexdigest()[:32]


def issue(slug: str, kind: str, page_id: str, notice: str, now: float) -> str:
    issued, digest = int(now), notice_digest(notice)
    return f"{issued}.{page_id}.{digest}.{_mac(slug, kind, issued, page_id, digest)}"


def min_seconds() -> float:
    return float(setting("SITE_FORM_MIN_SECONDS", 3) or 0)


def max_age_seconds() -> float:
    return float(setting("SITE_FORM_MAX_AGE_SECONDS", 4 * 3600) or 4 * 3600)


@dataclass(frozen=True)
class TokenCheck:
    ok: bool
    reason: str = ""  # forged | too_fast | expired | notice_changed


def check(token: str, slug: str, kind: str, page_id: str, notice: str, now: float) -> TokenCheck:
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 4 or not parts[0].isdigit():
        return TokenCheck(False, "forged")
    issued, token_page, digest, mac = int(parts[0]), parts[1], parts[2], parts[3]
    if not hmac.compare_digest(mac, _mac(slug, kind, issued, token_page, digest)):
        return TokenCheck(False, "forged")
    if token_page != page_id:
        return TokenCheck(False, "notice_changed")  # the page was replaced meanwhile
    if not hmac.compare_digest(digest, notice_digest(notice)):
        return TokenCheck(False, "notice_changed")
    if now - issued < min_seconds():
        return TokenCheck(False, "too_fast")
    if now - issued > max_age_seconds():
        return TokenCheck(False, "expired")
    return TokenCheck(True)


def parse(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body; a field sent twice keeps its first
    value. Not UTF-8, or too many fields: a 400."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS,
                          strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise Invalid("The form is not readable", code="malformed_form",
                      fields={"body": "an application/x-www-form-urlencoded form"}) from None
    out: dict[str, str] = {}
    for name, value in pairs:
        out.setdefault(name, value)
    return out
