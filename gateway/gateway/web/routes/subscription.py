"""The distributor's office subscription: its current status, ordering a period (paid by
card on the provider's page, or by transfer or cheque), and withdrawal within 7 days
(terms art. 3.A, 6, 10.B).

The RPCs and schema of ``gateway.routes.billing``: the order form is ``SubscriptionIn``; the
accounts service owns every rule (one order awaiting payment at a time, renewals, the
withdrawal window, another user's subscription as its 404).

A card payment is a link to the provider's page (``redirect_url``), as on a plan's page:
the strict CSP's ``form-action 'self'`` would stop a form whose answer leads elsewhere. The
provider sends the cardholder back to ``/payments/return`` (the accounts service's
``card_return_url``), which forwards to ``/web/payments/return``.

Office kind (issue 13 §1): ``SubscriptionIn.kind`` (``KIND_FIELD``) covers distribution,
construction or both; the form offers the schema's ``OneOf`` choices and ``order_args``
passes the kind to ``create_subscription``, which prices it (the amount shown is the
service's answer: no price is written here).
"""
from __future__ import annotations

import json
from typing import Any

from marshmallow import validate
from werkzeug.wrappers import Response

from gateway.schemas.accounts import SubscriptionIn
from gateway.web.http import ERROR_MESSAGES, FLASH, N_, Page, page, validated
from gateway.web.routes.roles_common import attempt

MEMBER = ("user", "admin")
PERIODS = {"monthly": N_("Monthly"), "quarterly": N_("Quarterly"), "annual": N_("Annual")}
SUB_METHODS = {"card": N_("Card"), "transfer": N_("Bank transfer"), "cheque": N_("Cheque")}
#: the office kind's field of the JSON API's ``SubscriptionIn`` (see above)
KIND_FIELD = "kind"
#: statuses a withdrawal may be asked for (the service decides whether it is still open)
WITHDRAWABLE = ("pending_payment", "active")

FLASH.update({
    "subscription_withdrawn": N_("The subscription is withdrawn; a paid one is refunded."),
})
ERROR_MESSAGES.update({
    "subscription_payment_pending": N_("An order is already awaiting payment: pay it or "
                                       "withdraw it first."),
    "withdrawal_window_closed": N_("The 7-day withdrawal period is over."),
    "withdrawal_service_started": N_("The service has started: withdrawal is no longer "
                                     "possible."),
    "subscription_not_withdrawable": N_("This subscription can no longer be withdrawn."),
    "kind_not_covered": N_("Your subscription does not cover this kind of office: order a "
                           "subscription that covers it (Subscription page) first."),
})


def schema_choices(schema: type, name: str) -> tuple[list[str], Any]:
    """A field's ``OneOf`` choices and its default (absent: the API's), from a JSON route's
    schema: the web form offers what the API accepts."""
    field = schema._declared_fields[name]  # type: ignore[attr-defined]
    choices = next((list(r.choices) for r in getattr(field, "validators", [])
                    if isinstance(r, validate.OneOf)), [])
    return [str(c) for c in choices], field.load_default


def office_kinds() -> list[str]:
    """The coverages ``SubscriptionIn`` accepts (distribution, construction, both)."""
    return schema_choices(SubscriptionIn, KIND_FIELD)[0]


def order_fields(p: Page) -> dict[str, Any]:
    """The order form as ``SubscriptionIn`` wants it (no kind: the schema's default)."""
    values = {"period": p.form.get("period", "").strip(),
              "payment_method": p.form.get("payment_method", "").strip()}
    kind = p.form.get(KIND_FIELD, "").strip()
    if kind:
        values[KIND_FIELD] = kind
    return values


def order_args(body: dict[str, Any]) -> tuple[Any, ...]:
    """``create_subscription``'s arguments from the validated form, as the JSON route
    sends them: period, payment method, office kind."""
    return (body["period"], body["payment_method"], body[KIND_FIELD])


class WebSubscriptionRoutes:
    accounts: Any

    def _subscription_page(self, p: Page, status: int = 200,
                           errors: dict[str, str] | None = None,
                           values: dict[str, Any] | None = None,
                           ordered: dict[str, Any] | None = None) -> Response:
        me = self.accounts.get_me()
        history = self.accounts.list_subscriptions().get("items", [])
        current = me.get("subscription")
        # the order awaiting payment, with its payment link (the list carries it too)
        awaiting = ordered or next((s for s in history if s.get("status") == "pending_payment"),
                                   None)
        default_kind = schema_choices(SubscriptionIn, KIND_FIELD)[1]
        return p.render("subscription.html", status=status, current=current, history=history,
                        awaiting=awaiting, periods=PERIODS, methods=SUB_METHODS,
                        kinds=office_kinds(), kind_field=KIND_FIELD, withdrawable=WITHDRAWABLE,
                        errors=errors or {}, values={KIND_FIELD: default_kind, **(values or {})})

    @page("GET", "/web/subscription", roles=MEMBER)
    def web_subscription(self, p: Page) -> Response:
        return self._subscription_page(p)

    @page("GET", "/web/subscription/status.json", roles=MEMBER)
    def web_subscription_status(self, p: Page) -> Response:
        """The status of the order awaiting payment (else the current one), for ``poll.js``."""
        history = self.accounts.list_subscriptions().get("items", [])
        shown = next((s for s in history if s.get("status") == "pending_payment"), None) \
            or self.accounts.get_me().get("subscription") or {}
        return Response(json.dumps({"status": shown.get("status")}),
                        mimetype="application/json", headers={"Cache-Control": "no-store"})

    @page("POST", "/web/subscription", roles=MEMBER)
    def web_subscribe(self, p: Page) -> Response:
        values = order_fields(p)
        ordered: dict[str, Any] = {}

        def order() -> None:
            body = validated(SubscriptionIn, values)
            ordered.update(self.accounts.create_subscription(*order_args(body)))

        return attempt(p, order,
                       lambda: self._subscription_page(p, 201, ordered=ordered),
                       lambda s, e: self._subscription_page(p, s, e, values))

    @page("POST", "/web/subscription/<subscription_id>/withdraw", roles=MEMBER)
    def web_subscription_withdraw(self, p: Page, subscription_id: str) -> Response:
        return attempt(p, lambda: self.accounts.withdraw_subscription(subscription_id),
                       lambda: p.redirect("/web/subscription", flash="subscription_withdrawn"),
                       lambda s, e: self._subscription_page(p, s, e))

    @page("GET", "/payments/return", auth=False)
    def web_card_return(self, p: Page) -> Response:
        """Where the card provider sends the cardholder back: on to the web office."""
        return p.redirect("/web/payments/return")

    @page("GET", "/web/payments/return", roles=MEMBER)
    def web_card_returned(self, p: Page) -> Response:
        return p.render("payment_return.html")
