"""Platform staff's pages: payments to validate and refunds to pay back, refund claims
with their evidence and a decision, absences and force-majeure claims with a decision,
and accounts to suspend, close or reactivate.

The RPCs of ``gateway.routes.staff``, ``.office`` and ``.plans``, with the same schemas;
a change of an account's status evicts its cached principal on every gateway, as the
JSON route does. The services check the staff role again.
"""
from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Response

from gateway.auth import evict_user
from gateway.routes.plans import PROOF_EXTENSIONS
from gateway.schemas.accounts import PaymentsQuery, RefundMadeIn
from gateway.schemas.office import ClaimDecisionIn, StaffClaimsQuery
from gateway.schemas.plans import DecisionIn, StaffAbsencesQuery
from gateway.web.http import Page, not_found, page, validated
from gateway.web.routes.roles_common import attempt

STAFF = ("staff",)
PAGE_SIZE = 50


class WebStaffRoutes:
    accounts: Any
    leads: Any
    plans: Any
    dispatch: Any

    # --- payments and refunds ---------------------------------------------------------------

    @page("GET", "/web/staff", roles=STAFF)
    def web_staff_payments(self, p: Page) -> Response:
        return self._stf_payments(p)

    def _stf_payments(self, p: Page, status: int = 200,
                  errors: dict[str, str] | None = None) -> Response:
        wanted = p.http.args.get("status", "pending")
        q = validated(PaymentsQuery, {"status": wanted, "limit": PAGE_SIZE})
        payments = self.accounts.list_payments(q.get("status"), None, PAGE_SIZE, None)["items"]
        refunds = self.accounts.list_payments(None, None, PAGE_SIZE, "due")["items"]
        return p.render("staff/payments.html", status=status, payments=payments,
                        refunds=refunds, status_filter=wanted, errors=errors or {})

    @page("POST", "/web/staff/payments/<payment_id>/validate", roles=STAFF)
    def web_staff_validate(self, p: Page, payment_id: str) -> Response:
        return attempt(p, lambda: self.accounts.validate_payment(payment_id),
                       lambda: p.redirect("/web/staff", flash="payment_validated"),
                       lambda s, e: self._stf_payments(p, s, e))

    @page("POST", "/web/staff/payments/<payment_id>/refunded", roles=STAFF)
    def web_staff_refunded(self, p: Page, payment_id: str) -> Response:
        def mark() -> None:
            b = validated(RefundMadeIn, {"reference": p.form.get("reference", "").strip()})
            self.accounts.mark_refunded(payment_id, b["reference"])

        return attempt(p, mark, lambda: p.redirect("/web/staff", flash="refund_recorded"),
                       lambda s, e: self._stf_payments(p, s, e))

    # --- refund claims ----------------------------------------------------------------------

    @page("GET", "/web/staff/claims", roles=STAFF)
    def web_staff_claims(self, p: Page) -> Response:
        return self._stf_claims(p)

    def _stf_claims(self, p: Page, status: int = 200,
                errors: dict[str, str] | None = None) -> Response:
        wanted = p.http.args.get("status", "pending")
        q = validated(StaffClaimsQuery, {"status": wanted, "limit": PAGE_SIZE})
        claims = self.leads.refund_claims_staff(q.get("status"), None, PAGE_SIZE)["items"]
        return p.render("staff/claims.html", status=status, claims=claims,
                        status_filter=wanted, errors=errors or {})

    @page("POST", "/web/staff/claims/<claim_id>/decision", roles=STAFF)
    def web_staff_claim_decide(self, p: Page, claim_id: str) -> Response:
        def decide() -> None:
            b = validated(ClaimDecisionIn, {"approve": p.form.get("approve") == "1",
                                            "comment": p.form.get("comment", "").strip()
                                            or None})
            self.leads.refund_claim_decide(claim_id, b["approve"], b["comment"])

        return attempt(p, decide, lambda: p.redirect("/web/staff/claims",
                                                     flash="decision_recorded"),
                       lambda s, e: self._stf_claims(p, s, e))

    # --- absences and force majeure ---------------------------------------------------------

    @page("GET", "/web/staff/absences", roles=STAFF)
    def web_staff_absences(self, p: Page) -> Response:
        return self._stf_absences(p)

    def _stf_absences(self, p: Page, status: int = 200,
                  errors: dict[str, str] | None = None) -> Response:
        wanted = p.http.args.get("status", "pending")
        q = validated(StaffAbsencesQuery, {"status": wanted, "limit": PAGE_SIZE})
        absences = self.plans.staff_list_absences(q["status"], None, PAGE_SIZE)["items"]
        return p.render("staff/absences.html", status=status, absences=absences,
                        status_filter=wanted, errors=errors or {})

    @page("GET", "/web/staff/absences/<absence_id>/proof", roles=STAFF)
    def web_staff_proof(self, p: Page, absence_id: str) -> Response:
        """The proof as a download (never shown inline: it is the claimant's file)."""
        proof = self.plans.get_proof(absence_id)
        if not proof:
            raise not_found()
        ext = PROOF_EXTENSIONS.get(proof["mime"], "bin")
        return Response(base64.b64decode(proof["content_b64"]), mimetype=proof["mime"], headers={
            "Content-Disposition": f'attachment; filename="proof-{absence_id}.{ext}"',
            "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    @page("POST", "/web/staff/absences/<absence_id>/decision", roles=STAFF)
    def web_staff_absence_decide(self, p: Page, absence_id: str) -> Response:
        def decide() -> None:
            comment = p.form.get("comment", "").strip()
            b = validated(DecisionIn, {"approve": p.form.get("approve") == "1",
                                       **({"comment": comment} if comment else {})})
            self.plans.decide_absence(absence_id, b["approve"], b.get("comment"))

        return attempt(p, decide, lambda: p.redirect("/web/staff/absences",
                                                     flash="decision_recorded"),
                       lambda s, e: self._stf_absences(p, s, e))

    # --- accounts ---------------------------------------------------------------------------

    @page("GET", "/web/staff/users", roles=STAFF)
    def web_staff_users(self, p: Page) -> Response:
        return self._stf_users(p)

    def _stf_users(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
               result: dict[str, Any] | None = None) -> Response:
        networks = self.accounts.list_networks(None, 200)["items"]
        return p.render("staff/users.html", status=status, networks=networks,
                        errors=errors or {}, result=result)

    @page("POST", "/web/staff/users", roles=STAFF)
    def web_staff_user_action(self, p: Page) -> Response:
        """The account named by its id (from a payment, a claim or an absence): suspend,
        close or reactivate, as ``POST /api/staff/users/<id>/<action>``."""
        user_id = p.form.get("user_id", "").strip()
        action = p.form.get("action", "")
        handlers = {"suspend": self.accounts.suspend_user, "close": self.accounts.close_user,
                    "reactivate": self.accounts.reactivate_user}
        if action not in handlers or not user_id:
            return self._stf_users(p, 400, {"_top": p.gettext("Give an account id and an action.")})
        result: dict[str, Any] = {}

        def act() -> None:
            result.update(handlers[action](user_id))
            evict_user(user_id)
            self.dispatch("principal_changed", {"user_id": user_id})

        return attempt(p, act, lambda: self._stf_users(p, result=result),
                       lambda s, e: self._stf_users(p, s, e))
