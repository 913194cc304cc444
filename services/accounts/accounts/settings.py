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
from accounts.domain.subscriptions import DEFAULT_PRICES_CENTS
from suivi_common.settings import setting


def _int(key: str, default: int) -> int:
    value = setting(key, default)
    return default if value in (None, "") else int(value)


def _text(key: str, default: str | None = None) -> str | None:
    value = setting(key, default)
    return default if value in (None, "") else str(value)


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

    @property
    def card_callback_url(self) -> str:
        return f"{self.public_url}/api/payments/card-callback"

    @property
    def card_return_url(self) -> str:
        return f"{self.public_url}/payments/return"

    def set_password_url(self, token: str) -> str:
        return f"{self.public_url}/set-password?token={token}"


def _prices() -> dict[str, int]:
    raw: Any = setting("SUBSCRIPTION_PRICES_CENTS")
    if isinstance(raw, str) and raw.strip():
        raw = json.loads(raw)
    prices = dict(DEFAULT_PRICES_CENTS)
    if isinstance(raw, dict):
        prices.update({str(k): int(v) for k, v in raw.items() if v not in (None, "")})
    return prices


def load() -> Settings:
    window = timedelta(minutes=_int("LOGIN_WINDOW_MINUTES", 60))
    max_delay = timedelta(seconds=_int("LOGIN_MAX_DELAY_SECONDS", 60))
    return Settings(
        public_url=(_text("PUBLIC_URL", "http://127.0.0.1:8000") or "").rstrip("/"),
        card_provider_url=(_text("CARD_PROVIDER_URL", "http://127.0.0.1:8025") or "").rstrip("/"),
        card_provider_timeout=float(setting("CARD_PROVIDER_TIMEOUT_SECONDS", 5) or 5),
        session_policy=SessionPolicy(idle=timedelta(minutes=_int("TOKEN_IDLE_MINUTES", 60)),
                                     absolute=timedelta(hours=_int("TOKEN_ABSOLUTE_HOURS", 12))),
        password_token_ttl=timedelta(hours=_int("PASSWORD_TOKEN_HOURS", 72)),
        reset_min_interval=timedelta(seconds=_int("PASSWORD_RESET_MIN_INTERVAL_SECONDS", 60)),
        account_limit=Limit(_int("LOGIN_MAX_ACCOUNT_FAILURES", 5), window, max_delay),
        ip_limit=Limit(_int("LOGIN_MAX_IP_FAILURES", 30), window, max_delay),
        prices_cents=_prices(),
    )


def bootstrap_staff() -> tuple[str, str] | None:
    """``SUIVI_STAFF_EMAIL`` / ``SUIVI_STAFF_PASSWORD``, when both are set."""
    email, password = _text("SUIVI_STAFF_EMAIL"), _text("SUIVI_STAFF_PASSWORD")
    return (email, password) if email and password else None
