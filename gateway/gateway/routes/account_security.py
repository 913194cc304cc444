"""The caller's password, sessions and email: change the password, list the live
sessions, revoke one or all the others; change the email through a link sent to it.

Accounts tells the caller's own session by its bearer token (forwarded, as for a logout).
A revocation drops the user's cached token answers here and, through the
``principal_changed`` broadcast, on every gateway instance: a revoked token is refused on
its next request, not up to ``AUTH_CACHE_SECONDS`` later.
"""
from typing import Any

from gateway.auth import bearer_token, evict_user
from gateway.http import Req, api
from gateway.schemas.account_security import (
    ConfirmEmailIn,
    ConfirmEmailOut,
    EmailChangeIn,
    EmailChangeOut,
    PasswordChangeIn,
    PasswordChangeOut,
    SessionPageOut,
    SessionsRevokedOut,
)
from gateway.schemas.common import PageQuery, page_args


class AccountSecurityRoutes:
    accounts: Any
    dispatch: Any

    def _sessions_changed(self, req: Req) -> None:
        evict_user(req.principal.user_id)
        self.dispatch("principal_changed", {"user_id": req.principal.user_id})

    @api("POST", "/api/me/password", terms_gate=False, body=PasswordChangeIn,
         response=PasswordChangeOut, tags=("profile",), errors=(429,),
         summary="Change my password (the current one is asked); my other sessions end")
    def change_password(self, req: Req) -> Any:
        result = self.accounts.change_password(req.body["current_password"],
                                               req.body["new_password"], req.token, req.ip)
        self._sessions_changed(req)
        return result

    @api("GET", "/api/me/sessions", terms_gate=False, query=PageQuery, response=SessionPageOut,
         tags=("profile",), summary="My live sessions, newest first; the current one marked")
    def list_sessions(self, req: Req) -> Any:
        return self.accounts.list_sessions(req.token, *page_args(req.query))

    @api("DELETE", "/api/me/sessions/<session_id>", terms_gate=False,
         response=SessionsRevokedOut, tags=("profile",),
         summary="End one of my sessions (another user's is not found)")
    def revoke_session(self, req: Req, session_id: str) -> Any:
        result = self.accounts.revoke_session(session_id)
        self._sessions_changed(req)
        return result

    @api("DELETE", "/api/me/sessions", terms_gate=False, response=SessionsRevokedOut,
         tags=("profile",), summary="End all my sessions but this one")
    def revoke_other_sessions(self, req: Req) -> Any:
        result = self.accounts.revoke_other_sessions(req.token)
        self._sessions_changed(req)
        return result

    @api("POST", "/api/me/email", terms_gate=False, body=EmailChangeIn, response=EmailChangeOut,
         status=202, tags=("profile",), errors=(429,),
         summary="Change my email: a confirmation link goes to the new address")
    def request_email_change(self, req: Req) -> Any:
        return self.accounts.request_email_change(req.body["new_email"],
                                                  req.body["current_password"], req.ip)

    @api("POST", "/api/auth/confirm-email", auth=None, body=ConfirmEmailIn,
         response=ConfirmEmailOut, tags=("auth",),
         summary="Confirm a new email from its link; the old address is told, other sessions end")
    def confirm_email(self, req: Req) -> Any:
        # opened while logged in: that session is the caller's and stays valid
        result = self.accounts.confirm_email_change(req.body["token"], bearer_token(req.http))
        evict_user(result["user_id"])
        self.dispatch("principal_changed", {"user_id": result["user_id"]})
        return {"email": result["email"]}
