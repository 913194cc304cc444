"""The web office's entrypoint: HTML in the browser, over the API's RPCs and rules.

``page(method, path, ...)`` wraps a handler as ``api`` does for JSON, but answers HTML:

* **Session.** The ``suivi_session`` cookie holds the same opaque token the API returns
  from a login; it is checked by ``RequestAuth.require_token``, so its expiry, idle
  timeout, revocation and the terms gate are exactly the API's. ``HttpOnly``,
  ``SameSite=Lax``, ``Secure`` when ``PUBLIC_URL`` is https, path ``/web``: the JSON API reads
  only the bearer header, so the cookie can never authenticate an API call.
* **CSRF.** Every POST carries a ``csrf`` field equal to the ``suivi_csrf`` cookie (a random
  value set on the first page; a double-submit token), and, when the browser sends an
  ``Origin``, that origin is this host. A POST without them is a readable 403 page.
* **Errors.** 401 leads to the login page and back (``next``); the terms gate leads to the
  terms page and back; a 404 (another user's object too) is a 404 page; any other typed
  error is a page with its readable message; a bug is a 500 page with an id, never a trace.
* **Headers.** A strict ``Content-Security-Policy`` (our own origin only, no inline script
  or style), ``X-Frame-Options: DENY``, and the API's headers (``http.finish``).
"""
from __future__ import annotations

import functools
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from marshmallow import Schema, ValidationError
from nameko.amqp.publish import UndeliverableMessage
from nameko.exceptions import RpcTimeout, UnknownService
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway.client_ip import client_ip, parse_trusted_proxies
from gateway.http import ApiEndpoint, schema
from gateway.web.i18n import LANGS, lang_of, translations
from suivi_common.errors import Forbidden, Invalid, NotFound, SuiviError, TooLarge, Unauthorized
from suivi_common.settings import setting

log = logging.getLogger("gateway.web")

SESSION_COOKIE = "suivi_session"
CSRF_COOKIE = "suivi_csrf"
LANG_COOKIE = "suivi_lang"
FLASH_COOKIE = "suivi_flash"
COOKIE_PATH = "/web"
HOME = "/web/"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
TEMPLATES = Path(__file__).parent / "templates"

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)


class CsrfRefused(SuiviError, status=403, code="csrf_refused",
                  message="This form has expired or did not come from this site."):
    pass


def N_(message: str) -> str:
    """A message id for the catalogue (``make messages`` extracts it), translated later."""
    return message


def secure_cookies() -> bool:
    return str(setting("PUBLIC_URL", "") or "").strip().lower().startswith("https://")


def safe_next(value: str | None) -> str:
    """A local page of the web office to go back to, or the dashboard: never another site
    (``//evil``, ``/\\evil``, a scheme), never the JSON API."""
    if not value or not value.startswith("/web/") or value.startswith("//") or "\\" in value:
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    return value


def form_errors(exc: Invalid) -> dict[str, str]:
    """A 400's field messages, one readable string per field."""
    out: dict[str, str] = {}
    for name, messages in (exc.fields or {}).items():
        if isinstance(messages, list):
            out[name] = " ".join(str(m) for m in messages)
        elif isinstance(messages, dict):
            out[name] = " ".join(str(m) for m in messages.values())
        else:
            out[name] = str(messages)
    return out


def validated(schema_cls: type[Schema], data: Mapping[str, Any]) -> Any:
    """A form through the JSON route's own schema: the same rules, the same 400."""
    try:
        return schema(schema_cls).load(dict(data))
    except ValidationError as err:
        fields = err.messages_dict if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise Invalid("Some fields are not valid", fields=fields) from None


@dataclass
class Page:
    """What a page handler receives: the request, who asks, and the means to answer."""

    http: Request
    principal: Any
    token: str | None
    lang: str
    csrf: str
    new_cookies: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def form(self) -> Any:
        return self.http.form

    @property
    def ip(self) -> str:
        return client_ip(self.http.remote_addr or "", self.http.headers.getlist("X-Forwarded-For"),
                         parse_trusted_proxies(str(setting("TRUSTED_PROXIES", "") or "")))

    @property
    def user_agent(self) -> str | None:
        return self.http.headers.get("User-Agent")

    def gettext(self, message: str) -> str:
        return translations(self.lang).gettext(message)

    def error_text(self, exc: SuiviError) -> str:
        """The readable message of a typed error, in the page's language when we know its
        code, else the service's own message."""
        known = ERROR_MESSAGES.get(exc.code)
        return self.gettext(known) if known else exc.message

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        t = translations(self.lang)
        flash = self._take_flash()
        html = env.get_template(template).render(
            gettext=t.gettext, ngettext=t.ngettext, _=t.gettext, lang=self.lang, langs=LANGS,
            csrf=self.csrf, principal=self.principal, flash=flash, here=self.here,
            **context)
        return Response(html, status=status, mimetype="text/html")

    @property
    def here(self) -> str:
        """This page's path and query (where to come back after the login)."""
        query = self.http.query_string.decode("latin-1")
        return self.http.path + (f"?{query}" if query else "")

    def redirect(self, to: str, flash: str | None = None, **args: Any) -> Response:
        """303 to ``to`` (a GET after a POST); ``flash`` is a message key of ``FLASH``
        shown once on the next page, with numbers only as arguments."""
        response = Response(status=303, headers={"Location": to})
        if flash is not None:
            value = json.dumps({"k": flash, **{k: int(v) for k, v in args.items()}})
            self.new_cookies.append((FLASH_COOKIE, value, {"max_age": 60}))
        return response

    def _take_flash(self) -> str | None:
        raw = self.http.cookies.get(FLASH_COOKIE)
        if not raw:
            return None
        self.new_cookies.append((FLASH_COOKIE, "", {"max_age": 0}))
        try:
            data = json.loads(raw)
            key = FLASH[data.pop("k")]
            return self.gettext(key) % {k: int(v) for k, v in data.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def set_cookie(self, name: str, value: str, **options: Any) -> None:
        self.new_cookies.append((name, value, options))


#: One-shot messages after a redirect (English ids, translated in the catalogue).
FLASH = {
    "taken": N_("%(n)s leads taken."),
    "taken_none": N_("No lead could be taken now."),
    "status_changed": N_("Status changed."),
    "note_added": N_("Note added."),
    "profile_saved": N_("Profile saved."),
    "privacy_saved": N_("Privacy setting saved."),
    "password_changed": N_("Password changed; your other sessions are closed."),
    "terms_accepted": N_("Terms accepted."),
    "logged_out": N_("You are logged out."),
}

#: Errors whose message we write ourselves (the service's is shown otherwise).
ERROR_MESSAGES = {
    "invalid_credentials": N_("Wrong email or password."),
    "current_password_wrong": N_("The current password is wrong."),
    "password_rejected": N_("This password is too weak or too common."),
    "csrf_refused": N_("This form has expired or did not come from this site. Reload the page "
                       "and try again."),
    "office_inactive": N_("Your office subscription is not active."),
    "plan_not_active": N_("This plan is not active."),
    "not_found": N_("This page does not exist, or is not yours."),
    "route_not_found": N_("This page does not exist, or is not yours."),
    "forbidden_role": N_("Your role does not give access to this page."),
    "too_many_requests": N_("Too many attempts; wait a little and try again."),
    "service_unavailable": N_("A service is unavailable; try again shortly."),
}


def _origin_ok(request: Request) -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


def check_csrf(request: Request) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(cookie, sent) or not _origin_ok(request):
        raise CsrfRefused()


def _finish(p: Page, response: Response, csrf_is_new: bool) -> Response:
    secure = secure_cookies()
    if csrf_is_new:
        p.new_cookies.append((CSRF_COOKIE, p.csrf, {}))
    for name, value, options in p.new_cookies:
        response.set_cookie(name, value, path=COOKIE_PATH, httponly=True, samesite="Lax",
                            secure=secure, **options)
    if "Content-Security-Policy" not in response.headers:  # a file's own (stricter) stays
        response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    # not the API's no-referrer: with it a browser sends "Origin: null" with every form,
    # and the CSRF check could not tell our forms from another site's
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def login_redirect(p: Page, next_path: str) -> Response:
    response = p.redirect(f"/web/login?next={quote(safe_next(next_path), safe='/')}")
    if p.http.cookies.get(SESSION_COOKIE):  # expired or revoked: forget it
        p.set_cookie(SESSION_COOKIE, "", max_age=0)
    return response


def set_session(p: Page, token: str, expires_at: str | None) -> None:
    expires = None
    if expires_at:
        try:
            expires = datetime.fromisoformat(expires_at)
        except ValueError:
            expires = None
    p.set_cookie(SESSION_COOKIE, token, expires=expires)


def page(method: str, path: str, *, auth: bool = True, roles: tuple[str, ...] = (),
         terms_gate: bool = True, max_body: int | None = None) -> Callable[..., Any]:
    """Declare an HTML page. Handlers get ``(self, page, **path)`` and return a Response
    (``page.render`` or ``page.redirect``). ``auth``: a session is required (else the login
    page, and back); ``terms_gate``: members must have accepted the current terms (else the
    terms page, and back); ``roles`` narrows further. Every POST is CSRF-checked first.
    ``max_body``: a larger bound than ``MAX_BODY_BYTES`` (an upload form); a body cut at
    the bound while it is read is a readable 413 page."""

    def decorate(fn: Callable[..., Any]) -> Any:
        @functools.wraps(fn)
        def route(self: Any, request: Request, **path_values: Any) -> Response:
            csrf_cookie = request.cookies.get(CSRF_COOKIE, "")
            p = Page(request, None, None, lang_of(request.cookies.get(LANG_COOKIE)),
                     csrf_cookie or secrets.token_urlsafe(32))
            back = p.here if request.method == "GET" else safe_next(
                urlsplit(request.headers.get("Referer", "")).path or HOME)
            try:
                if request.method == "POST":
                    check_csrf(request)
                if auth:
                    p.principal, p.token = self.auth.require_token(
                        request.cookies.get(SESSION_COOKIE) or None, roles=roles,
                        terms_gate=terms_gate)
                response = fn(self, p, **path_values)
            except RequestEntityTooLarge:
                response = error_page(p, TooLarge("The form is too large.",
                                                  code="form_too_large"), 413)
            except Unauthorized:
                response = login_redirect(p, back)
            except Forbidden as exc:
                if exc.code == "terms_not_accepted":
                    response = p.redirect(f"/web/terms?next={quote(safe_next(back), safe='/')}")
                else:
                    response = error_page(p, exc)
            except SuiviError as exc:
                response = error_page(p, exc)
            except RpcTimeout:
                response = error_page(p, SuiviError("A service did not answer in time.",
                                                    code="service_timeout"), 504)
            except (UnknownService, UndeliverableMessage):
                response = error_page(p, SuiviError("A service is unavailable.",
                                                    code="service_unavailable"), 503)
            except Exception as exc:  # a bug: logged with its trace, shown as an id
                error_id = uuid.uuid4().hex
                log.error("web page error %s: %r", error_id, exc, extra={"error_id": error_id},
                          exc_info=(type(exc), exc, exc.__traceback__))
                response = p.render("error.html", status=500, title=p.gettext("Unexpected error"),
                                    message=p.gettext("Unexpected error; quote this id to "
                                                      "support:") + f" {error_id}")
            return _finish(p, response, not csrf_cookie)

        return ApiEndpoint.decorator(method, path, max_body=max_body)(route)

    return decorate


def error_page(p: Page, exc: SuiviError, status: int | None = None) -> Response:
    status = status or exc.status or 500
    titles = {403: N_("Access refused"), 404: N_("Page not found"),
              429: N_("Too many requests")}
    title = p.gettext(titles.get(status, N_("Something went wrong")))
    return p.render("error.html", status=status, title=title, message=p.error_text(exc),
                    code=exc.code)


def not_found() -> NotFound:
    return NotFound("This page does not exist, or is not yours.", code="not_found")
