"""Login, logout and password links (terms art. 1, 7)."""
from typing import Any

from gateway.auth import evict_token, token_key
from gateway.http import Req, api
from gateway.schemas.accounts import LoginIn, LoginMfaIn, LoginOut, PasswordResetIn, SetPasswordIn
from gateway.schemas.common import Ok


class AuthRoutes:
    accounts: Any
    dispatch: Any

    @api("POST", "/api/auth/login", auth=None, body=LoginIn, response=LoginOut, tags=("auth",),
         errors=(401, 403, 429), summary="Log in; returns a bearer token")
    def login(self, req: Req) -> Any:
        return self.accounts.login(req.body["email"], req.body["password"], req.ip,
                                   user_agent=req.http.headers.get("User-Agent"))

    @api("POST", "/api/auth/login/mfa", auth=None, body=LoginMfaIn, response=LoginOut,
         tags=("auth",), errors=(401, 403, 429),
         summary="Second login step: the challenge and a TOTP or recovery code; returns a token")
    def login_mfa(self, req: Req) -> Any:
        return self.accounts.login_mfa(req.body["challenge"], req.body["code"], req.ip,
                                       user_agent=req.http.headers.get("User-Agent"))

    @api("POST", "/api/auth/logout", auth="any", mfa_gate=False, response=Ok, tags=("auth",),
         summary="Revoke the current token at once")
    def logout(self, req: Req) -> Any:
        self.accounts.logout(req.token)
        key = token_key(req.token or "")
        evict_token(key)
        self.dispatch("token_revoked", {"token_key": key})
        return {"ok": True}

    @api("POST", "/api/auth/set-password", auth=None, body=SetPasswordIn, response=Ok,
         tags=("auth",), summary="Set a password from a one-time emailed link")
    def set_password(self, req: Req) -> Any:
        self.accounts.set_password(req.body["token"], req.body["password"])
        return {"ok": True}

    @api("POST", "/api/auth/password-reset", auth=None, body=PasswordResetIn, response=Ok,
         status=202, tags=("auth",), summary="Email a password reset link (if the account exists)")
    def password_reset(self, req: Req) -> Any:
        self.accounts.request_password_reset(req.body["email"])
        return {"ok": True}
