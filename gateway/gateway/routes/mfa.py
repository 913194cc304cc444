"""The caller's second factor (issue 14 §1): enrol a TOTP factor, confirm it with a code;
remove it (password and code; not staff nor compliance), replace the recovery codes.

Staff and compliance accounts without a factor may call only these (``mfa_gate=False``);
the second login step is ``/api/auth/login/mfa`` (``routes.auth``)."""
from typing import Any

from gateway.auth import evict_user
from gateway.http import Req, api
from gateway.schemas.accounts import (
    RecoveryCodesIn,
    RecoveryCodesOut,
    TotpConfirmIn,
    TotpConfirmOut,
    TotpEnrolmentOut,
    TotpRemovedOut,
    TotpRemoveIn,
)


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

    @api("DELETE", "/api/me/mfa/totp", auth="any", terms_gate=False, body=TotpRemoveIn,
         response=TotpRemovedOut, tags=("profile",), errors=(409, 429),
         summary="Remove my TOTP factor and recovery codes (password and a code asked "
                 "again); refused to staff and compliance, who must keep one")
    def remove_totp(self, req: Req) -> Any:
        return self.accounts.remove_own_mfa(req.body["current_password"], req.body["code"],
                                            req.ip)

    @api("POST", "/api/me/mfa/recovery-codes", auth="any", terms_gate=False,
         body=RecoveryCodesIn, response=RecoveryCodesOut, tags=("profile",), errors=(409, 429),
         summary="Replace my recovery codes with 10 new ones, shown once (a code asked); "
                 "the earlier ones stop working")
    def regenerate_recovery_codes(self, req: Req) -> Any:
        return self.accounts.regenerate_recovery_codes(req.body["code"], req.ip)
