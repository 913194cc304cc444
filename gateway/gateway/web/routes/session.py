"""Login (with the second step of an account with a factor), logout, the terms gate, the
language switch, static files, and the web office's own 404.

Each calls the RPC its JSON route calls (``gateway.routes.auth``, ``gateway.routes.profile``)
and does the same cache evictions and broadcasts after it.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Response

from gateway.auth import evict_token, evict_user, token_key
from gateway.schemas.accounts import LoginIn, LoginMfaIn, TermsAcceptIn
from gateway.web.http import (
    HOME,
    LANG_COOKIE,
    SESSION_COOKIE,
    Page,
    error_page,
    form_errors,
    not_found,
    page,
    safe_next,
    set_session,
    validated,
)
from gateway.web.i18n import LANGS
from suivi_common.errors import Invalid, SuiviError

STATIC = Path(__file__).resolve().parent.parent / "static"
#: Only these files are served (no path ever reaches the file system from the URL).
STATIC_FILES = {f.name: f for f in STATIC.iterdir() if f.is_file()}


class WebSessionRoutes:
    accounts: Any
    dispatch: Any

    @page("GET", "/web/login", auth=False)
    def web_login(self, p: Page) -> Response:
        return p.render("login.html", next=safe_next(p.http.args.get("next")), errors={},
                        email="")

    @page("POST", "/web/login", auth=False)
    def web_login_post(self, p: Page) -> Response:
        next_path = safe_next(p.form.get("next"))
        email = p.form.get("email", "")
        try:
            body = validated(LoginIn, {"email": email, "password": p.form.get("password", "")})
            answer = self.accounts.login(body["email"], body["password"], p.ip,
                                         user_agent=p.user_agent)
        except Invalid as exc:
            return p.render("login.html", status=400, next=next_path, errors=form_errors(exc),
                            email=email)
        except SuiviError as exc:
            return p.render("login.html", status=exc.status, next=next_path, email=email,
                            errors={"_top": p.error_text(exc)})
        if answer.get("mfa_required"):
            return p.render("login_mfa.html", challenge=answer["challenge"], next=next_path,
                            errors={})
        return self._logged_in(p, answer, next_path)

    @page("POST", "/web/login/mfa", auth=False)
    def web_login_mfa(self, p: Page) -> Response:
        next_path = safe_next(p.form.get("next"))
        challenge = p.form.get("challenge", "")
        try:
            body = validated(LoginMfaIn, {"challenge": challenge, "code": p.form.get("code", "")})
            answer = self.accounts.login_mfa(body["challenge"], body["code"], p.ip,
                                             user_agent=p.user_agent)
        except SuiviError as exc:
            return p.render("login_mfa.html", status=exc.status, challenge=challenge,
                            next=next_path, errors={"_top": p.error_text(exc)})
        return self._logged_in(p, answer, next_path)

    def _logged_in(self, p: Page, answer: dict[str, Any], next_path: str) -> Response:
        set_session(p, answer["token"], answer.get("expires_at"))
        return p.redirect(next_path)

    @page("POST", "/web/logout", auth=True, terms_gate=False)
    def web_logout(self, p: Page) -> Response:
        self.accounts.logout(p.token)
        key = token_key(p.token or "")
        evict_token(key)
        self.dispatch("token_revoked", {"token_key": key})
        p.set_cookie(SESSION_COOKIE, "", max_age=0)
        return p.redirect("/web/login", flash="logged_out")

    # --- the terms gate (art. 2, 14) ------------------------------------------------------

    @page("GET", "/web/terms", terms_gate=False)
    def web_terms(self, p: Page) -> Response:
        return p.render("terms.html", terms=self.accounts.current_terms(),
                        me=self.accounts.get_me(), next=safe_next(p.http.args.get("next")))

    @page("POST", "/web/terms", terms_gate=False)
    def web_terms_accept(self, p: Page) -> Response:
        body = validated(TermsAcceptIn, {"version": p.form.get("version", "")})
        self.accounts.accept_terms(body["version"], p.ip)  # the IP is recorded, as the API's
        evict_user(p.principal.user_id)
        self.dispatch("principal_changed", {"user_id": p.principal.user_id})
        return p.redirect(safe_next(p.form.get("next")), flash="terms_accepted")

    # --- language, static files, unknown pages --------------------------------------------

    @page("POST", "/web/lang", auth=False)
    def web_lang(self, p: Page) -> Response:
        lang = p.form.get("lang", "")
        if lang in LANGS:
            p.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400)
        return p.redirect(safe_next(p.form.get("next")))

    @page("GET", "/web/static/<name>", auth=False)
    def web_static(self, p: Page, name: str) -> Response:
        file = STATIC_FILES.get(name)
        if file is None:
            raise not_found()
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Response(file.read_bytes(), mimetype=mime)

    @page("GET", "/web", auth=False)
    def web_bare(self, p: Page) -> Response:
        return p.redirect(HOME)

    @page("GET", "/web/<path:rest>", auth=False)
    def web_unknown(self, p: Page, rest: str) -> Response:
        return error_page(p, not_found())
