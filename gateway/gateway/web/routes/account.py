"""« Mon compte »: profile, the admin-access privacy switch (terms art. 5), the password.

The same RPCs and schemas as ``gateway.routes.profile`` and
``gateway.routes.account_security``; a password change ends the other sessions and evicts
this user's cached token answers on every gateway, as the JSON route does.
"""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway.auth import evict_user
from gateway.schemas.account_security import PasswordChangeIn
from gateway.schemas.accounts import MePatchIn
from gateway.web.http import Page, form_errors, page, validated
from suivi_common.errors import Invalid, SuiviError

MEMBER = ("user", "admin")


class WebAccountRoutes:
    accounts: Any
    dispatch: Any

    def _account(self, p: Page, status: int = 200, errors: dict[str, dict[str, str]] | None = None,
                 values: dict[str, Any] | None = None) -> Response:
        me = self.accounts.get_me()
        return p.render("account.html", status=status, me=me, errors=errors or {},
                        values=values or {})

    @page("GET", "/web/account", terms_gate=False)
    def web_account(self, p: Page) -> Response:
        return self._account(p)

    @page("POST", "/web/account/profile", roles=MEMBER)
    def web_account_profile(self, p: Page) -> Response:
        values = {k: p.form.get(k, "").strip() for k in ("first_name", "last_name", "phone")}
        changes: dict[str, Any] = {k: v for k, v in values.items() if k != "phone"}
        changes["phone"] = values["phone"] or None
        try:
            self.accounts.update_me(validated(MePatchIn, changes))
        except Invalid as exc:
            return self._account(p, 400, {"profile": form_errors(exc) or {"_top": exc.message}},
                                 values)
        except SuiviError as exc:
            if exc.status in (401, 404):
                raise
            return self._account(p, exc.status, {"profile": {"_top": p.error_text(exc)}}, values)
        return p.redirect("/web/account", flash="profile_saved")

    @page("POST", "/web/account/privacy", roles=MEMBER)
    def web_account_privacy(self, p: Page) -> Response:
        self.accounts.set_privacy(p.form.get("admin_access") == "1")
        return p.redirect("/web/account", flash="privacy_saved")

    @page("POST", "/web/account/password", terms_gate=False)
    def web_account_password(self, p: Page) -> Response:
        new, again = p.form.get("new_password", ""), p.form.get("new_password_again", "")
        try:
            if new != again:
                raise Invalid("The passwords differ",
                              fields={"new_password_again": p.gettext("The two new passwords "
                                                                      "differ.")})
            body = validated(PasswordChangeIn, {"current_password": p.form.get(
                "current_password", ""), "new_password": new})
            self.accounts.change_password(body["current_password"], body["new_password"],
                                          p.token, p.ip)
        except Invalid as exc:
            return self._account(p, 400, {"password": form_errors(exc) or {"_top": exc.message}})
        except SuiviError as exc:
            if exc.status in (401, 404):
                raise
            field = "current_password" if exc.code == "current_password_wrong" else (
                "new_password" if exc.code == "password_rejected" else "_top")
            return self._account(p, exc.status, {"password": {field: p.error_text(exc)}})
        evict_user(p.principal.user_id)
        self.dispatch("principal_changed", {"user_id": p.principal.user_id})
        return p.redirect("/web/account", flash="password_changed")
