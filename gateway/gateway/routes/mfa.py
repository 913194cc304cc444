"""The caller's second factor (issue 14 §1): enrol a TOTP factor, confirm it with a code.

Staff and compliance accounts without a factor may call only these (``mfa_gate=False``);
the second login step is ``/api/auth/login/mfa`` (``routes.auth``)."""
from typing import Any

from gateway.auth import evict_user
from gateway.http import Req, api
from gateway.schemas.accounts import TotpConfirmIn, TotpConfirmOut, TotpEnrolmentOut


class MfaRoutes:
    accounts: Any
    dispatch: Any

    @api("POST", "/api/me/mfa/totp", auth="any", mfa_gate=False, response=TotpEnrolmentOut,
         tags=("profile",),
         summary="Start enrolling a TOTP factor: the secret, its otpauth URI and QR code (SVG)")
    def start_totp(self, req: Req) -> Any:
        return self.accounts.start_mfa_enrolment()

    @api("POST", "/api/me/mfa/totp/confirm", auth="any", mfa_gate=False, body=TotpConfirmIn,
         response=TotpConfirmOut, tags=("profile",),
         summary="Activate the TOTP factor with a code; returns 10 single-use recovery codes, once")
    def confirm_totp(self, req: Req) -> Any:
        result = self.accounts.confirm_mfa_enrolment(req.body["code"])
        # the account's sessions may now do more than enrol: no cached answer says otherwise
        evict_user(req.principal.user_id)
        self.dispatch("principal_changed", {"user_id": req.principal.user_id})
        return result
