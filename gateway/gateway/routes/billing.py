"""Subscriptions (the office) and payments (terms art. 6, 10.B)."""
import hashlib
import hmac
from typing import Any

from nameko import config

from gateway.http import Req, _load, api, parse_json
from gateway.schemas.accounts import PaymentOut, SubscriptionIn, SubscriptionOut, WithdrawOut
from gateway.schemas.common import page_of
from gateway.schemas.platform import CardCallbackIn
from suivi_common.errors import Unauthorized


def verify_signature(raw: bytes, signature: str | None) -> None:
    """The card provider signs its callback; anything unsigned is a forgery attempt."""
    secret = str(config.get("CARD_PROVIDER_SECRET", "")).encode()
    expected = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    if not secret or not signature or not hmac.compare_digest(expected, signature.strip()):
        raise Unauthorized("Bad callback signature", code="bad_signature")


class BillingRoutes:
    accounts: Any

    @api("POST", "/api/subscriptions", roles=("user", "admin"), body=SubscriptionIn,
         response=SubscriptionOut, status=201, tags=("subscriptions",),
         summary="Subscribe to the office; active once the payment is validated")
    def create_subscription(self, req: Req) -> Any:
        return self.accounts.create_subscription(req.body["period"], req.body["payment_method"],
                                                 req.body["kind"])

    @api("GET", "/api/subscriptions", roles=("user", "admin"), response=page_of(SubscriptionOut),
         tags=("subscriptions",), summary="My subscriptions")
    def list_subscriptions(self, req: Req) -> Any:
        return self.accounts.list_subscriptions()

    @api("POST", "/api/subscriptions/<subscription_id>/withdraw", roles=("user", "admin"),
         response=WithdrawOut, tags=("subscriptions",),
         summary="Withdraw within 7 days if no service has started (refund)")
    def withdraw(self, req: Req, subscription_id: str) -> Any:
        return self.accounts.withdraw_subscription(subscription_id)

    @api("GET", "/api/payments/<payment_id>", auth="member", response=PaymentOut,
         tags=("payments",), summary="One of my payments")
    def get_payment(self, req: Req, payment_id: str) -> Any:
        return self.accounts.get_payment(payment_id)

    @api("POST", "/api/payments/card-callback", auth=None, raw_body=True, tags=("payments",),
         errors=(401, 404), summary="Card provider callback, HMAC-signed (X-Signature)")
    def card_callback(self, req: Req) -> Any:
        verify_signature(req.body, req.http.headers.get("X-Signature"))
        data = _load(CardCallbackIn, parse_json(req.body or b"{}"), "callback")
        # the provider's signature was checked here: the gateway vouches for it, as itself
        return self.accounts.as_service().record_card_result(
            data["payment_id"], data["provider_ref"], data["status"], data["amount_cents"])
