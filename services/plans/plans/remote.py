"""What plans asks of other services, behind small ports the use cases depend on.

Use cases see ``AccountsPort``, ``LeadsPort`` and ``CompliancePort``; the service wires the nameko
implementations below (RPC with a timeout), the service-level tests wire in-memory
fakes. Calls are made as plans (its signed service principal): leads' bookkeeping RPCs
(``close_books``, ``plan_today``) and accounts' look-ups (``office_active``,
``open_countries``, by id) are for services, not for the member whose request happens to
trigger them. One call acts for the member, explicitly: ``request_payment`` (the member
pays for their own order) forwards the gateway-signed principal of the member
(``for_user()``), so accounts charges whoever the gateway authenticated, never an id
plans would pass.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeGuard

import eventlet
from nameko.exceptions import RpcTimeout, UnknownService

from plans.domain.subject_requests import Subject, SubjectUsers, subject_of, subject_users_of
from suivi_common.errors import Conflict, NotFound, ServiceUnavailable, SuiviError

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The other service did not answer (down, too slow, or lacks the method)."""


@dataclass(frozen=True)
class DayTotals:
    """Leads' frozen totals of one plan for one closed day (``plan_day_closed``)."""

    plan_id: str
    day: date
    taken: int
    shortfall: int


@dataclass(frozen=True)
class TodayTotals:
    """Leads' live totals of one plan for the current day."""

    day: date
    taken: int
    shortfall: int


class AccountsPort(Protocol):
    def office_active(self, user_id: str) -> bool: ...

    def office_kinds(self, user_id: str) -> list[str]:
        """The office kinds the user's subscription covers today; [] when the office is
        closed."""
        ...

    def open_countries(self, network_id: str) -> list[str]: ...

    def request_payment(self, order_type: str, order_id: str, amount_cents: int, method: str,
                        description: str) -> dict[str, Any]: ...

    def subject_users(self, request_id: str, email: str | None,
                      phone: str | None) -> SubjectUsers:
        """Who a data-subject request names (accounts resolves it once per request)."""
        ...


class CompliancePort(Protocol):
    def subject(self, request_id: str) -> Subject | None:
        """The person of plans' open task; None when the task is no longer open."""
        ...


class LeadsPort(Protocol):
    def close_books(self, day: date, plan_ids: list[str]) -> list[DayTotals]:
        """Raises Unavailable if leads cannot close now."""
        ...

    def plan_today(self, plan_id: str) -> TodayTotals:
        """Raises Unavailable if leads cannot tell."""
        ...


def parse_day_totals(item: Any) -> DayTotals:
    """One ``plan_day_closed`` payload (or ``close_books`` item); ValueError if malformed."""
    if not isinstance(item, dict):
        raise ValueError("day totals must be a mapping")
    taken, shortfall = item.get("taken"), item.get("shortfall", 0)
    if not _count(taken) or not _count(shortfall):
        raise ValueError("taken and shortfall must be non-negative integers")
    return DayTotals(str(item["plan_id"]), date.fromisoformat(str(item["date"])), taken, shortfall)


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _call(client: Any, method: str, timeout: float, *args: Any) -> Any:
    try:
        with eventlet.Timeout(timeout):
            return getattr(client, method)(*args)
    except (UnknownService, RpcTimeout, ServiceUnavailable, eventlet.Timeout) as exc:
        raise Unavailable(f"{method}: {exc!r}") from None


class NamekoAccounts:
    """Accounts over RPC; refusals (``SuiviError``) pass through to the caller unchanged."""

    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    def _ask(self, method: str, *args: Any, client: Any = None) -> Any:
        try:
            return _call(client or self.client, method, self.timeout, *args)
        except Unavailable as exc:
            log.warning("accounts unavailable: %s", exc)
            raise Conflict("Accounts cannot be reached right now; try again shortly",
                           code="accounts_unavailable") from None

    def office_active(self, user_id: str) -> bool:
        answer = self._ask("office_active", user_id)
        return bool(answer.get("active") if isinstance(answer, dict) else answer)

    def office_kinds(self, user_id: str) -> list[str]:
        return [str(k) for k in self._ask("office_kinds", user_id) or []]

    def open_countries(self, network_id: str) -> list[str]:
        return [str(c).upper() for c in self._ask("open_countries", network_id) or []]

    def request_payment(self, order_type: str, order_id: str, amount_cents: int, method: str,
                        description: str) -> dict[str, Any]:
        return dict(self._ask("request_payment", order_type, order_id, amount_cents, method,
                              description, client=self.client.for_user()))

    def subject_users(self, request_id: str, email: str | None,
                      phone: str | None) -> SubjectUsers:
        return subject_users_of(self._ask("subject_users", request_id, email, phone))


class NamekoCompliance:
    """Compliance over RPC (``dsr_subject``, as plans). Unreachable raises ``Unavailable``:
    the task's reliable handler is retried."""

    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    def subject(self, request_id: str) -> Subject | None:
        try:
            return subject_of(_call(self.client, "dsr_subject", self.timeout, request_id))
        except NotFound:
            return None


class NamekoLeads:
    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        self.timeout = timeout

    def _ask(self, method: str, *args: Any) -> Any:
        try:
            return _call(self.client, method, self.timeout, *args)
        except Unavailable:
            raise
        except SuiviError as exc:
            raise Unavailable(f"{method} refused: {exc.code}: {exc}") from None
        except Exception as exc:  # MethodNotFound, a crash over there: same for us
            raise Unavailable(f"{method} failed: {exc!r}") from None

    def close_books(self, day: date, plan_ids: list[str]) -> list[DayTotals]:
        answer = self._ask("close_books", day.isoformat(), list(plan_ids))
        items = answer.get("items", []) if isinstance(answer, dict) else answer
        try:
            return [parse_day_totals(item) for item in items or []]
        except (KeyError, ValueError, TypeError) as exc:
            raise Unavailable(f"close_books answered malformed items: {exc!r}") from None

    def plan_today(self, plan_id: str) -> TodayTotals:
        answer = self._ask("plan_today", plan_id)
        try:
            return TodayTotals(date.fromisoformat(str(answer["date"])), int(answer.get("taken") or 0),
                               int(answer.get("shortfall") or 0))
        except (KeyError, ValueError, TypeError) as exc:
            raise Unavailable(f"plan_today answered {answer!r}: {exc!r}") from None
