"""Platform staff: payments, users, terms, networks, dead letters."""
from typing import Any

from gateway.auth import evict_user
from gateway.http import Req, api
from gateway.schemas.accounts import (
    NetworkSummaryOut,
    PaymentOut,
    PaymentsQuery,
    RefundMadeIn,
    StaffUserIn,
    StaffUserOut,
    TermsOut,
    TermsPublishIn,
    UserStatusOut,
)
from gateway.schemas.common import PageQuery, page_args, page_of
from gateway.schemas.platform import DeadLetterOut, DeadLetterQuery, ReplayOut
from suivi_common import SERVICES
from suivi_common.errors import NotFound


class StaffRoutes:
    accounts: Any
    dispatch: Any

    @api("POST", "/api/staff/payments/<payment_id>/validate", roles=("staff",),
         response=PaymentOut, tags=("staff",), summary="Validate a transfer or cheque payment")
    def validate_payment(self, req: Req, payment_id: str) -> Any:
        return self.accounts.validate_payment(payment_id)

    @api("POST", "/api/staff/payments/<payment_id>/refunded", roles=("staff",),
         body=RefundMadeIn, response=PaymentOut, tags=("staff",), errors=(409,),
         summary="Mark a due refund paid back, with the transfer's or cheque's reference")
    def mark_refunded(self, req: Req, payment_id: str) -> Any:
        return self.accounts.mark_refunded(payment_id, req.body["reference"])

    @api("GET", "/api/staff/payments", roles=("staff",), query=PaymentsQuery,
         response=page_of(PaymentOut), tags=("staff",), summary="Payments, by status")
    def list_payments(self, req: Req) -> Any:
        q = req.query
        return self.accounts.list_payments(q.get("status"), q.get("cursor"), q["limit"],
                                           q.get("refund_status"))

    @api("POST", "/api/staff/users/<user_id>/<action>", roles=("staff",), response=UserStatusOut,
         tags=("staff",), summary="suspend | close | reactivate an account")
    def user_action(self, req: Req, user_id: str, action: str) -> Any:
        handlers = {"suspend": self.accounts.suspend_user, "close": self.accounts.close_user,
                    "reactivate": self.accounts.reactivate_user}
        if action not in handlers:
            raise NotFound("Unknown action")
        result = handlers[action](user_id)
        evict_user(user_id)
        self.dispatch("principal_changed", {"user_id": user_id})
        return result

    @api("POST", "/api/staff/users", roles=("staff",), body=StaffUserIn, response=StaffUserOut,
         status=201, tags=("staff",), summary="Create a staff or compliance account")
    def create_staff(self, req: Req) -> Any:
        b = req.body
        return self.accounts.create_staff(b["email"], b["password"], b["role"])

    @api("POST", "/api/staff/terms", roles=("staff",), body=TermsPublishIn, response=TermsOut,
         status=201, tags=("staff",), summary="Publish a new terms version; everyone re-accepts")
    def publish_terms(self, req: Req) -> Any:
        return self.accounts.publish_terms(req.body["version"], req.body["text"])

    @api("GET", "/api/staff/networks", roles=("staff",), query=PageQuery,
         response=page_of(NetworkSummaryOut), tags=("staff",), summary="All networks")
    def list_networks(self, req: Req) -> Any:
        return self.accounts.list_networks(*page_args(req.query))

    @api("GET", "/api/staff/dead-letters", roles=("staff",), query=DeadLetterQuery,
         response=page_of(DeadLetterOut), tags=("staff",),
         summary="Events whose handler failed every retry, across services")
    def dead_letters(self, req: Req) -> Any:
        items = []
        for service in SERVICES:
            for letter in getattr(self, service).list_dead_letters(req.query["include_replayed"]):
                items.append({**letter, "service": service})
        items.sort(key=lambda item: item["failed_at"])
        return {"items": items, "next_cursor": None}

    @api("POST", "/api/staff/dead-letters/<service>/<letter_id>/replay", roles=("staff",),
         response=ReplayOut, tags=("staff",), summary="Put a dead letter back on its queue")
    def replay_dead_letter(self, req: Req, service: str, letter_id: str) -> Any:
        if service not in SERVICES:
            raise NotFound("Unknown service")
        return getattr(self, service).replay_dead_letter(letter_id)
