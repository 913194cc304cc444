"""Linking a Google account to send through Gmail (the mailer keeps the tokens).

The OAuth callback is a browser navigation from Google: it carries no bearer token. The
state says who asked, and it must come back with the cookie ``authorize`` set on the
session that asked (``suivi_gmail_link``: HttpOnly, SameSite=Lax, scoped to these routes,
10 minutes): a Google URL forwarded to another person cannot link their Gmail to the
sender's account. The web client must therefore call ``authorize`` from the platform's own
site (``PUBLIC_URL``), with cookies. The callback always ends on the web page
``PUBLIC_URL/settings/gmail``, with ``?gmail=linked`` or ``?gmail=error&reason=<code>``.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from gateway.http import Req, api, json_response
from gateway.schemas.mailer_google import (
    GoogleAuthorizeOut,
    GoogleCallbackQuery,
    GoogleStatusOut,
    GoogleUnlinkOut,
)
from suivi_common.errors import SuiviError
from suivi_common.settings import setting

COOKIE = "suivi_gmail_link"
COOKIE_PATH = "/api/mailer/google"
LINK_PAGE = "/settings/gmail"
MEMBERS = ("user", "admin")
_REASON = re.compile(r"[a-z0-9_]{1,40}")


def public_url() -> str:
    return str(setting("PUBLIC_URL", "http://127.0.0.1:8000") or "").rstrip("/")


def outcome_page(reason: str | None) -> Response:
    """Back to the web client's Gmail page, saying how it went; the binding cookie goes."""
    query = {"gmail": "linked"} if reason is None else {
        "gmail": "error", "reason": reason if _REASON.fullmatch(reason) else "refused"}
    response = redirect(f"{public_url()}{LINK_PAGE}?{urlencode(query)}", code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


class MailerGoogleRoutes:
    mailer: Any

    @api("GET", "/api/mailer/google/authorize", roles=MEMBERS, response=GoogleAuthorizeOut,
         tags=("gmail",), summary="Start linking Gmail: the Google URL to open (sets a cookie)")
    def google_authorize(self, req: Req) -> Any:
        answer = self.mailer.google_authorize()
        response = json_response({"url": answer["url"]})
        response.set_cookie(COOKIE, answer["binding"], max_age=int(answer["expires_in"]),
                            path=COOKIE_PATH, httponly=True, samesite="Lax",
                            secure=public_url().startswith("https://"))
        return response

    @api("GET", "/api/mailer/google/callback", auth=None, query=GoogleCallbackQuery, status=303,
         tags=("gmail",),
         summary="Google's redirect: completes the link, then redirects to the web client")
    def google_callback(self, req: Req) -> Any:
        code, state = req.query.get("code"), req.query.get("state")
        if req.query.get("error"):
            return outcome_page("access_denied")
        if not code or not state:
            return outcome_page("missing_code")
        try:  # who asked is in the state; the gateway vouches for the cookie, as itself
            self.mailer.as_service().google_complete(code, state, req.http.cookies.get(COOKIE))
        except SuiviError as exc:
            if exc.status >= 500:
                raise
            return outcome_page(exc.code)
        return outcome_page(None)

    @api("GET", "/api/mailer/google", roles=MEMBERS, terms_gate=False, response=GoogleStatusOut,
         tags=("gmail",), summary="Is Gmail linked, and can mail go through it now")
    def google_status(self, req: Req) -> Any:
        return self.mailer.google_status()

    @api("DELETE", "/api/mailer/google", roles=MEMBERS, terms_gate=False,
         response=GoogleUnlinkOut, tags=("gmail",),
         summary="Unlink Gmail and revoke the token at Google")
    def google_unlink(self, req: Req) -> Any:
        return self.mailer.google_unlink()
