"""Forgotten password and the set-password page that invitation and reset emails link to.

The accounts service writes those links as ``{PUBLIC_URL}/set-password?token=...``
(``accounts.settings.set_password_url``), a path outside both the JSON API and the web
office: ``GET /set-password`` therefore sends the browser on to ``/web/set-password`` with
the same token, so links already in mailboxes keep working. The forms call the RPCs of
``gateway.routes.auth`` (``request_password_reset``, ``set_password``) with the same schemas.

The reset form answers the same whether the address has an account or not (the service
sends nothing for an unknown one), so the page tells nobody who is a member.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from gateway.schemas.accounts import PasswordResetIn, SetPasswordIn
from gateway.web.http import FLASH, N_, Page, form_errors, page, validated
from suivi_common.errors import Invalid, SuiviError

FLASH.update({
    "reset_requested": N_("If an account uses this address, a link to choose a new password "
                          "has been emailed to it. The link lasts one hour."),
    "password_set": N_("Your password is set; log in with it."),
})


class WebPasswordRoutes:
    accounts: Any

    @page("GET", "/set-password", auth=False)
    def web_email_link(self, p: Page) -> Response:
        """The emailed link's own path: on to the web office's page, token and all."""
        token = p.http.args.get("token", "")
        return p.redirect(f"/web/set-password?token={quote(token, safe='')}")

    @page("GET", "/web/forgot-password", auth=False)
    def web_forgot(self, p: Page) -> Response:
        return p.render("forgot_password.html", errors={}, email="")

    @page("POST", "/web/forgot-password", auth=False)
    def web_forgot_post(self, p: Page) -> Response:
        email = p.form.get("email", "").strip()
        try:
            body = validated(PasswordResetIn, {"email": email})
            self.accounts.request_password_reset(body["email"])
        except Invalid as exc:
            return p.render("forgot_password.html", status=400, errors=form_errors(exc),
                            email=email)
        except SuiviError as exc:
            return p.render("forgot_password.html", status=exc.status, email=email,
                            errors={"_top": p.error_text(exc)})
        return p.redirect("/web/login", flash="reset_requested")

    @page("GET", "/web/set-password", auth=False)
    def web_set_password(self, p: Page) -> Response:
        return p.render("set_password.html", token=p.http.args.get("token", ""), errors={})

    @page("POST", "/web/set-password", auth=False)
    def web_set_password_post(self, p: Page) -> Response:
        token = p.form.get("token", "")
        new, again = p.form.get("password", ""), p.form.get("password_again", "")
        try:
            if new != again:
                raise Invalid("The passwords differ", fields={
                    "password_again": p.gettext("The two passwords differ.")})
            body = validated(SetPasswordIn, {"token": token, "password": new})
            self.accounts.set_password(body["token"], body["password"])
        except Invalid as exc:
            errors = form_errors(exc)
            if "token" in errors or exc.code == "token_invalid":
                errors = {"_top": p.gettext("This link is invalid or has expired; ask for a "
                                            "new one below.")}
            return p.render("set_password.html", status=400, token=token, errors=errors)
        except SuiviError as exc:
            return p.render("set_password.html", status=exc.status, token=token,
                            errors={"_top": p.error_text(exc)})
        return p.redirect("/web/login", flash="password_set")
