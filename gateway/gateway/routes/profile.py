"""The caller's own account: profile, privacy, terms acceptance, termination."""
from typing import Any

from gateway.auth import evict_user
from gateway.http import Req, api
from gateway.schemas.accounts import (
    MeOut,
    MePatchIn,
    Privacy,
    TermsAcceptIn,
    TermsAcceptOut,
    TermsOut,
)
from gateway.schemas.common import Ok


class ProfileRoutes:
    accounts: Any
    dispatch: Any

    @api("GET", "/api/me", auth="member", terms_gate=False, response=MeOut, tags=("profile",),
         summary="Who am I, terms status, subscription, privacy")
    def get_me(self, req: Req) -> Any:
        return self.accounts.get_me()

    @api("PATCH", "/api/me", body=MePatchIn, response=MeOut, tags=("profile",),
         summary="Change names, phone, address; email needs the current password")
    def patch_me(self, req: Req) -> Any:
        return self.accounts.update_me(req.body)

    @api("PATCH", "/api/me/privacy", body=Privacy, response=Privacy, tags=("profile",),
         summary="Allow or refuse the network admin's access to my office (terms art. 5)")
    def patch_privacy(self, req: Req) -> Any:
        return self.accounts.set_privacy(req.body["admin_access"])

    @api("POST", "/api/me/terminate", roles=("user", "admin"), terms_gate=False, response=Ok,
         tags=("profile",),
         summary="Terminate at any time (also when refusing new terms); no refund of unused credit")
    def terminate(self, req: Req) -> Any:
        self.accounts.terminate()
        evict_user(req.principal.user_id)
        self.dispatch("principal_changed", {"user_id": req.principal.user_id})
        return {"ok": True}

    @api("GET", "/api/terms/current", auth=None, response=TermsOut, tags=("terms",),
         errors=(404,), summary="The current terms of service")
    def terms_current(self, req: Req) -> Any:
        return self.accounts.current_terms()

    @api("POST", "/api/terms/accept", auth="member", terms_gate=False, body=TermsAcceptIn,
         response=TermsAcceptOut, tags=("terms",), summary="Accept a terms version (art. 2, 14)")
    def terms_accept(self, req: Req) -> Any:
        result = self.accounts.accept_terms(req.body["version"], req.ip)
        evict_user(req.principal.user_id)
        self.dispatch("principal_changed", {"user_id": req.principal.user_id})
        return result
