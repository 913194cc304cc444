"""HTTP adapter to the card payment provider (terms art. 6: "Klick & Pay", replaceable).

Protocol: ``POST {base}/v1/payments`` with JSON ``{payment_id, amount_cents, currency,
callback_url, return_url, description}`` answers 201 ``{provider_ref, redirect_url}``.
The provider deduplicates on ``payment_id``, so retrying a create is safe. Results
come back later as signed callbacks, which the gateway verifies before calling
``record_card_result``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardPaymentRequest:
    payment_id: str
    amount_cents: int
    currency: str
    description: str
    callback_url: str
    return_url: str


@dataclass(frozen=True)
class CardPaymentCreated:
    provider_ref: str
    redirect_url: str


class CardProviderError(Exception):
    """The provider could not take the payment (down, timed out, or answered nonsense)."""


class CardProvider:
    def __init__(self, base_url: str, timeout: float = 5.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = session or requests.Session()

    def create_payment(self, req: CardPaymentRequest) -> CardPaymentCreated:
        body: dict[str, Any] = {"payment_id": req.payment_id, "amount_cents": req.amount_cents,
                "currency": req.currency, "callback_url": req.callback_url,
                "return_url": req.return_url, "description": req.description}
        try:
            response = self._http.post(f"{self.base_url}/v1/payments", json=body,
                                       timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning("card provider unreachable: %s", type(exc).__name__)
            raise CardProviderError("the card provider is unreachable") from exc
        if response.status_code not in (200, 201):
            log.warning("card provider refused payment %s: HTTP %s", req.payment_id,
                        response.status_code)
            raise CardProviderError(f"the card provider answered HTTP {response.status_code}")
        try:
            data = response.json()
            ref, url = data["provider_ref"], data["redirect_url"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CardProviderError("the card provider answered an unexpected body") from exc
        if not (isinstance(ref, str) and ref and isinstance(url, str)
                and url.startswith(("http://", "https://"))):
            raise CardProviderError("the card provider answered an unexpected body")
        return CardPaymentCreated(provider_ref=ref, redirect_url=url)
