"""The accounts service's settings, read from nameko config, then the environment, then
defaults (see ``config.yaml``). Read on each use, so tests and operators can change
them without restarting anything."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from accounts.domain.login_throttle import Limit
from accounts.domain.sessions import SessionPolicy
from accounts.domain.subscriptions import DEFAULT_PRICES_BY_KIND, DEFAULT_PRICES_CENTS
from suivi_common.settings import Tunables

TUNABLES = Tunables(
    PUBLIC_URL="http://127.0.0.1:8000", CARD_PROVIDER_URL="http://127.0.0.1:8025",
    CARD_PROVIDER_TIMEOUT_SECONDS=5, TOKEN_IDLE_MINUTES=60, TOKEN_ABSOLUTE_HOURS=12,
    PASSWORD_TOKEN_HOURS=72, PASSWORD_RESET_MIN_INTERVAL_SECONDS=60,
    LOGIN_WINDOW_MINUTES=60, LOGIN_MAX_DELAY_SECONDS=60, LOGIN_MAX_ACCOUNT_FAILURES=5,
    LOGIN_MAX_IP_FAILURES=30, SUBSCRIPTION_PRICES_CENTS=None,
    # the prices of the other office kinds (issue 13 §1); SUBSCRIPTION_PRICES_CENTS is
    # construction's, the only office sold before kinds
    SUBSCRIPTION_PRICES_CENTS_DISTRIBUTION=None, SUBSCRIPTION_PRICES_CENTS_BOTH=None,
    SUIVI_STAFF_EMAIL=None, SUIVI_STAFF_PASSWORD=None,
    SUBSCRIPTION_REMINDER_DAYS=7, SUBSCRIPTION_REMINDER_INTERVAL_SECONDS=3600,
    OFFICE_OPENING_WINDOW_MINUTES=30, PASSWORD_RESET_TTL_SECONDS=3600,
)


@dataclass(frozen=True)
class Settings:
    public_url: str
    card_provider_url: str
    card_provider_timeout: float
    session_policy: SessionPolicy
    password_token_ttl: timedelta
    reset_min_interval: timedelta
    account_limit: Limit
    ip_limit: Limit
    prices_cents: dict[str, int]
    #: the prices of each office kind a subscription may cover (construction's: prices_cents)
    kind_prices_cents: dict[str, dict[str, int]] | None = None
    #: ``subscription_ending_soon`` goes out this many days before the last day
    reminder_days: int = 7
    #: an admin's looks into one member's office within this span are one opening
    office_opening_window: timedelta = timedelta(minutes=30)
    #: a reset link lasts this long (an invitation's: ``password_token_ttl``)
    reset_token_ttl: timedelta = timedelta(hours=1)

    def prices_for(self, kind: str) -> dict[str, int]:
        """The prices in force for a subscription covering ``kind`` (a kind or both)."""
        if kind == "construction" or not self.kind_prices_cents:
            return self.prices_cents
        return self.kind_prices_cents.get(kind, self.prices_cents)

    @property
    def card_callback_url(self) -> str:
        return f"{self.public_url}/api/payments/card-callback"

    @property
    def card_return_url(self) -> str:
        return f"{self.public_url}/payments/return"

    def set_password_url(self, token: str) -> str:
        return f"{self.public_url}/set-password?token={token}"

    def confirm_email_url(self, token: str) -> str:
        return f"{self.public_url}/confirm-email?token={token}"


def _prices(name: str = "SUBSCRIPTION_PRICES_CENTS",
            defaults: dict[str, int] = DEFAULT_PRICES_CENTS) -> dict[str, int]:
    raw: Any = TUNABLES.get(name)
    if isinstance(raw, str) and raw.strip():
        raw = json.loads(raw)
    prices = dict(defaults)
    if isinstance(raw, dict):
        prices.update({str(k): int(v) for k, v in raw.items() if v not in (None, "")})
    return prices


def load() -> Settings:
    t = TUNABLES
    window = timedelta(minutes=t.get_int("LOGIN_WINDOW_MINUTES"))
    max_delay = timedelta(seconds=t.get_int("LOGIN_MAX_DELAY_SECONDS"))
    return Settings(
        public_url=str(t.get("PUBLIC_URL")).rstrip("/"),
        card_provider_url=str(t.get("CARD_PROVIDER_URL")).rstrip("/"),
        # 0 would fail every call to the provider
        card_provider_timeout=t.get_float("CARD_PROVIDER_TIMEOUT_SECONDS") or 5.0,
        session_policy=SessionPolicy(idle=timedelta(minutes=t.get_int("TOKEN_IDLE_MINUTES")),
                                     absolute=timedelta(hours=t.get_int("TOKEN_ABSOLUTE_HOURS"))),
        password_token_ttl=timedelta(hours=t.get_int("PASSWORD_TOKEN_HOURS")),
        reset_min_interval=timedelta(seconds=t.get_int("PASSWORD_RESET_MIN_INTERVAL_SECONDS")),
        account_limit=Limit(t.get_int("LOGIN_MAX_ACCOUNT_FAILURES"), window, max_delay),
        ip_limit=Limit(t.get_int("LOGIN_MAX_IP_FAILURES"), window, max_delay),
        prices_cents=_prices(),
        kind_prices_cents={
            kind: _prices(f"SUBSCRIPTION_PRICES_CENTS_{kind.upper()}", defaults)
            for kind, defaults in DEFAULT_PRICES_BY_KIND.items() if kind != "construction"},
        reminder_days=max(0, t.get_int("SUBSCRIPTION_REMINDER_DAYS")),
        office_opening_window=timedelta(minutes=max(0, t.get_int("OFFICE_OPENING_WINDOW_MINUTES"))),
        reset_token_ttl=timedelta(seconds=max(60, t.get_int("PASSWORD_RESET_TTL_SECONDS"))),
    )


def bootstrap_staff() -> tuple[str, str] | None:
    """``SUIVI_STAFF_EMAIL`` / ``SUIVI_STAFF_PASSWORD``, when both are set."""
    email, password = TUNABLES.get("SUIVI_STAFF_EMAIL"), TUNABLES.get("SUIVI_STAFF_PASSWORD")
    return (str(email), str(password)) if email and password else None
