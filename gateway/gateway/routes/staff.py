"""Platform staff: payments, users, terms, networks, dead letters."""
import time
from collections.abc import Iterable, Mapping
from typing import Any

import eventlet
from nameko.exceptions import RpcTimeout, UnknownService

from gateway.auth import evict_user
from gateway.http import Req, api
from gateway.schemas.accounts import (
    FactorResetIn,
    FactorResetOut,
    NetworkSummaryOut,
    PaymentOut,
    PaymentsQuery,
    RefundMadeIn,
    StaffUserIn,
    StaffUserOut,
    TermsOut,
    TermsPublishIn,
    TermsQuery,
    TermsVersionOut,
    UserFoundOut,
    UserSearchQuery,
    UserStatusOut,
)
from gateway.schemas.common import PageQuery, page_args, page_of
from gateway.schemas.platform import DeadLetterPage, DeadLetterQuery, ReplayOut
from suivi_common import SERVICES
from suivi_common.errors import NotFound, ServiceUnavailable
from suivi_common.settings import setting

#: How long the dead-letter listing waits for each service (all are asked at once).
DEFAULT_DEAD_LETTERS_TIMEOUT = 10.0
#: What leaves a service out of a cross-service listing instead of failing the request: no
#: answer in time, or no way to reach it. Any other error is a bug and fails the request.
UNAVAILABLE = (RpcTimeout, eventlet.Timeout, UnknownService, ServiceUnavailable)


def combine_dead_letters(answers: Mapping[str, Iterable[Mapping[str, Any]]],
                         unavailable: Iterable[str]) -> dict[str, Any]:
    """The listing from each service's answer: every letter tagged with its service,
    oldest failure first, and the services missing from it (in ``SERVICES`` order)."""
    items = [{**letter, "service": service}
             for service in SERVICES if service in answers for letter in answers[service]]
    items.sort(key=lambda item: item["failed_at"])
    missing = set(unavailable)
    return {"items": items, "next_cursor": None,
            "unavailable": [service for service in SERVICES if service in missing]}


def ask_each(clients: Mapping[str, Any], method: str, args: tuple[Any, ...],
             timeout: float) -> tuple[dict[str, Any], list[str]]:
    """Call ``method`` on every client at once and wait at most ``timeout`` seconds for
    all: (the answers by service, the services that gave none). A slow service costs the
    timeout once instead of adding up; every call is settled (its pending reply dropped)
    before an unexpected error is raised."""
    calls: dict[str, Any] = {}
    unavailable: list[str] = []
    for name, client in clients.items():
        try:
            calls[name] = client[method].call_async(*args)
        except UNAVAILABLE:
            unavailable.append(name)
    deadline = time.monotonic() + timeout
    answers: dict[str, Any] = {}
    failure: BaseException | None = None
    for name, call in calls.items():
        try:
            with eventlet.Timeout(max(0.01, deadline - time.monotonic())):
                answers[name] = call.result()
        except UNAVAILABLE:
            unavailable.append(name)
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return answers, unavailable


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

    @api("GET", "/api/staff/users", roles=("staff",), query=UserSearchQuery,
         response=page_of(UserFoundOut), tags=("staff",),
         summary="Find an account by its exact email or its id (empty items: none)")
    def find_users(self, req: Req) -> Any:
        return self.accounts.find_users(req.query["q"])

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

    @api("POST", "/api/staff/users/<user_id>/mfa/reset", roles=("staff",), body=FactorResetIn,
         response=FactorResetOut, tags=("staff",), errors=(409, 429),
         summary="Remove a user's lost second factor and recovery codes (your own password, "
                 "and code if you hold a factor, asked again); their sessions end, they are told")
    def reset_second_factor(self, req: Req, user_id: str) -> Any:
        b = req.body
        result = self.accounts.reset_second_factor(user_id, b["current_password"], b["code"],
                                                   req.ip)
        evict_user(result["user_id"])
        self.dispatch("principal_changed", {"user_id": result["user_id"]})
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

    @api("GET", "/api/staff/terms", roles=("staff",), query=TermsQuery,
         response=page_of(TermsVersionOut), tags=("staff",),
         summary="Published terms versions, newest first (the current one flagged)")
    def list_terms(self, req: Req) -> Any:
        return self.accounts.list_terms(req.query["limit"])

    @api("GET", "/api/staff/networks", roles=("staff",), query=PageQuery,
         response=page_of(NetworkSummaryOut), tags=("staff",), summary="All networks")
    def list_networks(self, req: Req) -> Any:
        return self.accounts.list_networks(*page_args(req.query))

    @api("GET", "/api/staff/dead-letters", roles=("staff",), query=DeadLetterQuery,
         response=DeadLetterPage, tags=("staff",),
         summary="Events whose handler failed every retry, across services; "
                 "`unavailable` names the services that did not answer in time")
    def dead_letters(self, req: Req) -> Any:
        """Every service is asked at once, each given ``DEAD_LETTERS_TIMEOUT_SECONDS``
        (default 10): a service too slow or unreachable is named in ``unavailable`` and the
        others' letters are returned, since staff looking for dead letters are often doing
        so because a service is struggling (a 504 for the whole list helped no one)."""
        timeout = float(setting("DEAD_LETTERS_TIMEOUT_SECONDS", DEFAULT_DEAD_LETTERS_TIMEOUT))
        answers, unavailable = ask_each({s: getattr(self, s) for s in SERVICES},
                                        "list_dead_letters", (req.query["include_replayed"],),
                                        timeout)
        return combine_dead_letters(answers, unavailable)

    @api("POST", "/api/staff/dead-letters/<service>/<letter_id>/replay", roles=("staff",),
         response=ReplayOut, tags=("staff",), summary="Put a dead letter back on its queue")
    def replay_dead_letter(self, req: Req, service: str, letter_id: str) -> Any:
        if service not in SERVICES:
            raise NotFound("Unknown service")
        return getattr(self, service).replay_dead_letter(letter_id)
