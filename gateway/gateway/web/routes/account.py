"""« Mon compte »: profile, the admin-access privacy switch (terms art. 5), the password,
the second factor (enrol, recovery codes, remove), the Gmail link, and termination.

The same RPCs and schemas as ``gateway.routes.profile``, ``gateway.routes.account_security``,
``gateway.routes.mfa``, ``gateway.routes.mailer_google`` and ``gateway.routes.compliance``;
a password change ends the other sessions and evicts this user's cached token answers on
every gateway, as the JSON route does.

* **Gmail.** Linking starts with a POST (CSRF) that asks the mailer for Google's URL and
  sets the binding cookie on the JSON callback's path, as ``GET /api/mailer/google/authorize``
  does; the page then links to Google (a form's redirect to another origin would break the
  CSP's ``form-action 'self'``). Google comes back to the JSON callback, which ends on
  ``/settings/gmail`` (``mailer_google.LINK_PAGE``): that forwards here with the outcome.
* **Termination** (terms art. 10.B) is asked on a page of its own that says what ends and
  offers the data first (the office export, and the end-of-contract archive when compliance
  prepared one): once terminated the account can no longer log in.
"""
from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Response

from gateway.auth import evict_user
from gateway.routes import mailer_google
from gateway.routes.compliance import ARCHIVE_GONE, _attachment, _unless_gone
from gateway.schemas.account_security import PasswordChangeIn
from gateway.schemas.accounts import MePatchIn, RecoveryCodesIn, TotpConfirmIn, TotpRemoveIn
from gateway.web.http import (
    ERROR_MESSAGES,
    FLASH,
    N_,
    SESSION_COOKIE,
    Page,
    form_errors,
    page,
    secure_cookies,
    validated,
)
from suivi_common.errors import Invalid, SuiviError

MEMBER = ("user", "admin")
#: the Gmail callback's ``reason`` codes worth their own words (others: "failed")
GMAIL_REFUSED = ("access_denied",)

FLASH.update({
    "gmail_linked": N_("Gmail is linked: your emails leave from your Gmail address."),
    "gmail_refused": N_("Google was not allowed to link Gmail; nothing changed."),
    "gmail_failed": N_("Gmail could not be linked; try again."),
    "gmail_unlinked": N_("Gmail is unlinked."),
    "mfa_removed": N_("The second factor is removed."),
    "account_terminated": N_("Your account is terminated. Thank you for your trust."),
    "receipt_confirmed": N_("Receipt confirmed: every copy of your office data is being "
                            "destroyed."),
})

ERROR_MESSAGES.update({
    "mfa_code_invalid": N_("This code is wrong; type the code your app shows now."),
    "mfa_already_enrolled": N_("A second factor is already active."),
    "mfa_not_pending": N_("Start the enrolment again: no enrolment is in progress."),
    "mfa_not_enrolled": N_("No second factor is active."),
    "account_closed": N_("This account is closed: it can no longer log in."),
    "archive_not_ready": N_("Your archive is still being prepared."),
    "already_confirmed": N_("Receipt was already confirmed: the data is being destroyed."),
})
NOT_CONFIRMED = N_("Tick the box to confirm the termination.")
NOT_RECEIVED = N_("Tick the box to confirm you received your archive.")


class WebAccountRoutes:
    accounts: Any
    dispatch: Any

    mailer: Any
    compliance: Any

    def _account(self, p: Page, status: int = 200, errors: dict[str, dict[str, str]] | None = None,
                 values: dict[str, Any] | None = None, **extra: Any) -> Response:
        me = self.accounts.get_me()
        gmail = None
        if me.get("role") in MEMBER:
            try:
                gmail = self.mailer.google_status()
            except SuiviError as exc:  # the page still works without the mailer's answer
                if exc.status == 401:
                    raise
        return p.render("account.html", status=status, me=me, errors=errors or {},
                        values=values or {}, gmail=gmail, **extra)

    def _acc_refused(self, p: Page, exc: SuiviError, section: str, **extra: Any) -> Response:
        if exc.status in (401, 404):
            raise exc
        fields = form_errors(exc) if isinstance(exc, Invalid) else {}
        if exc.code == "mfa_code_invalid":
            fields = {"code": p.error_text(exc)}
        return self._account(p, exc.status, {section: fields or {"_top": p.error_text(exc)}},
                             **extra)

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

    # --- the second factor (``gateway.routes.mfa``) ---------------------------------------

    @page("POST", "/web/account/mfa/start", terms_gate=False)
    def web_account_mfa_start(self, p: Page) -> Response:
        """A new secret: its QR code (the service's SVG, as an image) and the secret to type."""
        try:
            started = self.accounts.start_mfa_enrolment()
        except SuiviError as exc:
            return self._acc_refused(p, exc, "mfa")
        return self._account(p, enrolment=_enrolment(started))

    @page("POST", "/web/account/mfa/confirm", terms_gate=False)
    def web_account_mfa_confirm(self, p: Page) -> Response:
        try:
            body = validated(TotpConfirmIn, {"code": p.form.get("code", "").strip()})
            result = self.accounts.confirm_mfa_enrolment(body["code"])
        except SuiviError as exc:
            return self._acc_refused(p, exc, "mfa")
        evict_user(p.principal.user_id)
        self.dispatch("principal_changed", {"user_id": p.principal.user_id})
        return self._account(p, recovery_codes=result["recovery_codes"])

    @page("POST", "/web/account/mfa/recovery-codes", terms_gate=False)
    def web_account_mfa_codes(self, p: Page) -> Response:
        try:
            body = validated(RecoveryCodesIn, {"code": p.form.get("code", "").strip()})
            result = self.accounts.regenerate_recovery_codes(body["code"], p.ip)
        except SuiviError as exc:
            return self._acc_refused(p, exc, "mfa_codes")
        return self._account(p, recovery_codes=result["recovery_codes"])

    @page("POST", "/web/account/mfa/remove", terms_gate=False)
    def web_account_mfa_remove(self, p: Page) -> Response:
        try:
            body = validated(TotpRemoveIn, {"current_password": p.form.get("current_password", ""),
                                            "code": p.form.get("code", "").strip()})
            self.accounts.remove_own_mfa(body["current_password"], body["code"], p.ip)
        except SuiviError as exc:
            if exc.code == "current_password_wrong":
                return self._account(p, exc.status, {"mfa_remove": {
                    "current_password": p.error_text(exc)}})
            return self._acc_refused(p, exc, "mfa_remove")
        return p.redirect("/web/account", flash="mfa_removed")

    # --- Gmail (``gateway.routes.mailer_google``) -----------------------------------------

    @page("POST", "/web/account/gmail/link", roles=MEMBER, terms_gate=False)
    def web_account_gmail_link(self, p: Page) -> Response:
        try:
            answer = self.mailer.google_authorize()
        except SuiviError as exc:
            return self._acc_refused(p, exc, "gmail")
        response = self._account(p, google_url=answer["url"])
        response.set_cookie(mailer_google.COOKIE, answer["binding"],
                            max_age=int(answer["expires_in"]), path=mailer_google.COOKIE_PATH,
                            httponly=True, samesite="Lax", secure=secure_cookies())
        return response

    @page("GET", mailer_google.LINK_PAGE, auth=False)
    def web_gmail_outcome(self, p: Page) -> Response:
        """Where the JSON callback ends: on to Mon compte, saying how it went."""
        if p.http.args.get("gmail") == "linked":
            flash = "gmail_linked"
        elif p.http.args.get("reason") in GMAIL_REFUSED:
            flash = "gmail_refused"
        else:
            flash = "gmail_failed"
        return p.redirect("/web/account#gmail-title", flash=flash)

    @page("POST", "/web/account/gmail/unlink", roles=MEMBER, terms_gate=False)
    def web_account_gmail_unlink(self, p: Page) -> Response:
        try:
            self.mailer.google_unlink()
        except SuiviError as exc:
            return self._acc_refused(p, exc, "gmail")
        return p.redirect("/web/account#gmail-title", flash="gmail_unlinked")

    # --- termination (``POST /api/me/terminate``, terms art. 10.B) ------------------------

    def _acc_terminate_page(self, p: Page, status: int = 200, error: str | None = None,
                            receipt_error: str | None = None) -> Response:
        me = self.accounts.get_me()
        try:
            contract = self.compliance.my_end_of_contract()
        except SuiviError as exc:  # none prepared (404), or compliance cannot say now
            if exc.status == 401:
                raise
            contract = None
        return p.render("terminate.html", status=status, me=me, contract=contract,
                        error=error, receipt_error=receipt_error)

    @page("GET", "/web/account/terminate", roles=MEMBER, terms_gate=False)
    def web_account_terminate_confirm(self, p: Page) -> Response:
        return self._acc_terminate_page(p)

    @page("POST", "/web/account/terminate", roles=MEMBER, terms_gate=False)
    def web_account_terminate(self, p: Page) -> Response:
        if p.form.get("confirm") != "1":
            return self._acc_terminate_page(p, 400, p.gettext(NOT_CONFIRMED))
        self.accounts.terminate()
        evict_user(p.principal.user_id)
        self.dispatch("principal_changed", {"user_id": p.principal.user_id})
        p.set_cookie(SESSION_COOKIE, "", max_age=0)  # its sessions are revoked with it
        return p.redirect("/web/login", flash="account_terminated")

    @page("POST", "/web/account/end-of-contract/receipt", roles=MEMBER, terms_gate=False)
    def web_account_archive_receipt(self, p: Page) -> Response:
        """"I received my archive" (``POST /api/end-of-contract/receipt``): compliance then
        destroys every copy of the office data; asked on the same page, box ticked."""
        if p.form.get("received") != "1":
            return self._acc_terminate_page(p, 400, receipt_error=p.gettext(NOT_RECEIVED))
        try:
            self.compliance.confirm_end_of_contract_receipt()
        except SuiviError as exc:
            if exc.status in (401, 404):
                raise
            return self._acc_terminate_page(p, exc.status, receipt_error=p.error_text(exc))
        return p.redirect("/web/account/terminate#your-data", flash="receipt_confirmed")

    @page("GET", "/web/account/end-of-contract/archive", roles=MEMBER, terms_gate=False)
    def web_account_archive(self, p: Page) -> Response:
        """The end-of-contract archive (``GET /api/end-of-contract/archive``'s ZIP)."""
        return _attachment(_unless_gone(self.compliance.my_end_of_contract_archive,
                                        ARCHIVE_GONE))


def _enrolment(started: dict[str, Any]) -> dict[str, str]:
    """The enrolment as the page shows it: the QR code as a ``data:`` image (the CSP
    allows those; an inline SVG could carry styles), the secret grouped for typing."""
    svg = started["qr_svg"].encode()
    secret = started["secret"]
    return {"qr": "data:image/svg+xml;base64," + base64.b64encode(svg).decode(),
            "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
            "uri": started["otpauth_uri"]}
