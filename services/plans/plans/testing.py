"""Helpers shared by the plans tests (importlib mode: test modules cannot import each
other). Nothing here runs in production.

``FakeLeadsBook`` keeps what a leads service would: leads taken per plan and day, and
the books it froze. The in-memory ports (service-level tests) and the fake nameko
services (integration tests) both use it, so they close books the same way leads
does: once per plan and day, never for today or later.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from plans import store
from plans.context import Ctx
from plans.domain.absences import PlannedAbsence, request_planned_absence
from plans.domain.plan import Plan
from plans.domain.rules import PlanRules
from plans.domain.subject_requests import Subject, SubjectUsers, subject_of, subject_users_of
from plans.models import common
from plans.remote import DayTotals, TodayTotals, Unavailable
from plans.settings import PlanConfig
from plans.usecases import books, ordering
from suivi_common import clock, outbox
from suivi_common.auth import Principal
from suivi_common.crypto import KeyRing
from suivi_common.errors import Conflict
from suivi_common.testing.waiting import wait_for  # noqa: F401  (the plans tests' one wait)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def paris(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An instant on a Paris calendar day (the clock's "today" is that day)."""
    return datetime.combine(day, time(hour, minute), tzinfo=clock.PARIS)


def freeze_on(day: date, hour: int = 10) -> None:
    clock.freeze(paris(day, hour))


def d(day: int, month: int = 6, year: int = 2026) -> date:
    """A day of June 2026 by default (it starts on a Monday and has no public holiday)."""
    return date(year, month, day)


def request_absence(
    start: date,
    end: date,
    today: date,
    plans: Iterable[Plan],
    previous: Iterable[PlannedAbsence] = (),
    rules: PlanRules | None = None,
    user_id: str = "u1",
) -> PlannedAbsence:
    """User ``user_id``'s planned absence from ``start`` to ``end``, asked ``today``."""
    return request_planned_absence(
        absence_id="a-new",
        user_id=user_id,
        start_date=start,
        end_date=end,
        today=today,
        previous_absences=previous,
        plans=plans,
        **({"rules": rules} if rules else {}),
    )


@dataclass
class FakeLeadsBook:
    """Leads' side of the protocol, in memory."""

    totals: dict[tuple[str, date], list[int]] = field(default_factory=dict)
    closed: dict[tuple[str, date], tuple[int, int]] = field(default_factory=dict)
    close_calls: list[tuple[date, list[str]]] = field(default_factory=list)
    refused: int = 0  # close calls made while unavailable
    available: bool = True
    has_plan_today: bool = True

    def take(self, plan_id: str, taken: int, shortfall: int = 0, day: date | None = None) -> None:
        """Record leads taken (and a shortfall) for a plan on ``day`` (default today)."""
        key = (str(plan_id), day or clock.today())
        if key in self.closed:
            raise AssertionError(f"{key} is closed already")
        current = self.totals.setdefault(key, [0, 0])
        current[0] += taken
        current[1] = max(current[1], shortfall)

    def close(self, day: date, plan_ids: list[str]) -> list[dict[str, Any]]:
        if not self.available:
            self.refused += 1
            raise Unavailable("fake leads down")
        if day >= clock.today():
            raise Conflict(f"{day.isoformat()} is not over yet", code="day_close_not_over")
        self.close_calls.append((day, list(plan_ids)))
        items = []
        for plan_id in sorted({str(p) for p in plan_ids}):
            key = (plan_id, day)
            already = key in self.closed
            if not already:
                taken, shortfall = self.totals.get(key, [0, 0])
                self.closed[key] = (taken, shortfall)
            taken, shortfall = self.closed[key]
            items.append({"plan_id": plan_id, "date": day.isoformat(), "taken": taken,
                          "shortfall": shortfall, "already_closed": already})
        return items

    def today(self, plan_id: str) -> dict[str, Any]:
        if not self.available or not self.has_plan_today:
            raise Unavailable("fake leads cannot tell")
        day = clock.today()
        taken, shortfall = self.totals.get((str(plan_id), day), [0, 0])
        return {"date": day.isoformat(), "taken": taken, "shortfall": shortfall}


class InMemoryLeads:
    """``LeadsPort`` over a ``FakeLeadsBook`` (service-level tests: answers only, no events)."""

    def __init__(self, book: FakeLeadsBook) -> None:
        self.book = book

    def close_books(self, day: date, plan_ids: list[str]) -> list[DayTotals]:
        return [DayTotals(i["plan_id"], date.fromisoformat(i["date"]), i["taken"], i["shortfall"])
                for i in self.book.close(day, plan_ids)]

    def plan_today(self, plan_id: str) -> TodayTotals:
        answer = self.book.today(plan_id)
        return TodayTotals(date.fromisoformat(answer["date"]), answer["taken"], answer["shortfall"])


@dataclass
class FakeAccountsState:
    """Accounts' side: offices, open countries per network, payments asked for, and who a
    data-subject request names (``people``: an email or phone -> user ids; resolved once
    per request, as accounts does)."""

    offices: dict[str, bool] = field(default_factory=dict)
    open_countries: dict[str, list[str]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    people: dict[str, list[str]] = field(default_factory=dict)
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: what each user's subscription covers (issue 13 §1); absent: construction
    coverage: dict[str, str] = field(default_factory=dict)

    def office_kinds(self, user_id: str) -> list[str]:
        if not self.offices.get(user_id, False):
            return []
        covered = self.coverage.get(user_id, "construction")
        return ["construction", "distribution"] if covered == "both" else [covered]

    def subject_users(self, request_id: str, email: str | None,
                      phone: str | None) -> dict[str, Any]:
        if request_id not in self.resolved:
            holders = self.people.get(email or "", []) if email else \
                self.people.get(phone or "", [])
            ambiguous = not email and len(holders) > 1
            self.resolved[request_id] = {"request_id": request_id, "ambiguous": ambiguous,
                                         "user_ids": [] if ambiguous else list(holders)}
        return dict(self.resolved[request_id])

    def request_payment(self, buyer: str | None, order_type: str, order_id: str, amount_cents: int,
                        method: str, description: str) -> dict[str, Any]:
        from suivi_common.errors import Invalid

        if method not in ("card", "transfer", "cheque"):
            raise Invalid("payment_method must be one of card, transfer, cheque",
                          fields={"payment_method": "card, transfer or cheque"},
                          code="payment_method_invalid")
        for payment in self.payments.values():
            if (payment["order_type"], payment["order_id"]) == (order_type, order_id) \
                    and payment["status"] == "pending":
                if (payment["amount_cents"], payment["method"]) == (amount_cents, method):
                    return self.public(payment)
                payment["status"] = "cancelled"
        pid = str(uuid.uuid4())
        self.payments[pid] = {
            "id": pid, "method": method, "status": "pending", "amount_cents": amount_cents,
            "redirect_url": f"https://card.example/pay/{pid}" if method == "card" else None,
            "order_type": order_type, "order_id": order_id, "description": description,
            "user_id": buyer}
        return self.public(self.payments[pid])

    @staticmethod
    def public(payment: Mapping[str, Any]) -> dict[str, Any]:
        return {k: payment[k] for k in ("id", "method", "status", "amount_cents", "redirect_url")}

    def validated_event(self, payment_id: str, network_id: str = "net-1") -> dict[str, Any]:
        """Mark the payment validated; the ``payment_validated`` payload accounts emits."""
        payment = self.payments[payment_id]
        payment["status"] = "validated"
        return {"payment_id": payment_id, "user_id": payment["user_id"], "network_id": network_id,
                "order_type": payment["order_type"], "order_id": payment["order_id"],
                "amount_cents": payment["amount_cents"], "method": payment["method"],
                "validated_at": clock.now().isoformat()}

    def last_payment(self) -> dict[str, Any]:
        return list(self.payments.values())[-1]


class InMemoryAccounts:
    """``AccountsPort`` over a ``FakeAccountsState``; the buyer is whoever ``principal()`` says."""

    def __init__(self, state: FakeAccountsState, principal: Callable[[], str | None]) -> None:
        self.state = state
        self.principal = principal

    def office_active(self, user_id: str) -> bool:
        return self.state.offices.get(user_id, False)

    def office_kinds(self, user_id: str) -> list[str]:
        return self.state.office_kinds(user_id)

    def open_countries(self, network_id: str) -> list[str]:
        return list(self.state.open_countries.get(network_id, []))

    def request_payment(self, order_type: str, order_id: str, amount_cents: int, method: str,
                        description: str) -> dict[str, Any]:
        return self.state.request_payment(self.principal(), order_type, order_id, amount_cents,
                                          method, description)

    def subject_users(self, request_id: str, email: str | None,
                      phone: str | None) -> SubjectUsers:
        return subject_users_of(self.state.subject_users(request_id, email, phone))


@dataclass
class FakeComplianceState:
    """Compliance's side of a data-subject task: the open tasks' subjects, who asked."""

    subjects: dict[str, dict[str, Any]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def open_task(self, request_id: str, kind: str, email: str | None = None,
                  phone: str | None = None, changes: dict[str, Any] | None = None) -> None:
        self.subjects[request_id] = {"request_id": request_id, "kind": kind, "email": email,
                                     "phone": phone, "changes": changes}

    def answer(self, request_id: str) -> dict[str, Any] | None:
        self.asked.append(request_id)
        found = self.subjects.get(request_id)
        return dict(found) if found is not None else None


class InMemoryCompliance:
    """``CompliancePort`` over a ``FakeComplianceState``."""

    def __init__(self, state: FakeComplianceState) -> None:
        self.state = state

    def subject(self, request_id: str) -> Subject | None:
        answer = self.state.answer(request_id)
        return subject_of(answer) if answer is not None else None


def task_event(request_id: str, kind: str, attempt: int = 1,
               service: str = "plans") -> dict[str, Any]:
    """A ``compliance.dsr_task_requested`` payload."""
    return {"request_id": request_id, "service": service, "kind": kind, "attempt": attempt,
            "due_on": "2026-07-01", "email_index": "00" * 32, "phone_index": None}


def publish_event(amqp_uri: str, service: str, event_type: str, payload: Mapping[str, Any],
                  message_id: str) -> None:
    """Publish like the outbox relay does (exchange ``<service>.events``, a message id, the
    service's signed principal)."""
    from suivi_common.testing.messages import publish_event as publish_signed

    publish_signed(amqp_uri, service, event_type, payload, message_id)


U1 = Principal("u1", "user", "net-1")
U2 = Principal("u2", "user", "net-1")
STAFF = Principal("s1", "staff")
LEADS = Principal("leads", "service")  # another service calling
MONDAY = date(2026, 6, 1)  # June 2026 has no French public holiday


class World:
    """Service-level test harness: use cases run on a real database, one transaction each,
    committed on success and rolled back on a refusal (as the service container does),
    with accounts and leads in memory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.book = FakeLeadsBook()
        self.accounts = FakeAccountsState(offices={"u1": True, "u2": True},
                                          open_countries={"net-1": ["FR", "BE"]})
        self.keyring = KeyRing(os.urandom(32), common)
        self.config = PlanConfig()
        self.compliance = FakeComplianceState()

    def ctx(self, session: Session, principal: Principal | None) -> Ctx:
        return Ctx(session=session,
                   emit=lambda t, p: outbox.emit(session, common, t, p, {}),
                   principal=principal, config=self.config,
                   accounts=InMemoryAccounts(self.accounts,
                                             lambda: principal.user_id if principal else None),
                   leads=InMemoryLeads(self.book), engine=self.engine, tables=common,
                   keyring=self.keyring)

    def call(self, fn: Callable[..., Any], *args: Any, who: Principal | None = U1,
             **kwargs: Any) -> Any:
        """Run a use case in one transaction, like an entrypoint."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                result = fn(self.ctx(session, who), *args, **kwargs)
                session.commit()
                return result
            except BaseException:
                session.rollback()
                raise

    # --- shortcuts ------------------------------------------------------------------------------

    def buy(self, records: int = 300, tier: str = "standard", country: str = "FR",
            method: str = "card", who: Principal = U1) -> dict[str, Any]:
        return self.call(ordering.buy_plan, records, tier, country, method, who=who)

    def pay(self, payment_id: str) -> None:
        self.call(ordering.on_payment_validated, self.accounts.validated_event(payment_id), who=None)

    def active_plan(self, records: int = 300, tier: str = "standard", country: str = "FR",
                    who: Principal = U1) -> str:
        bought = self.buy(records, tier, country, who=who)
        self.pay(bought["payment"]["id"])
        return bought["id"]

    def plan(self, plan_id: str) -> store.PlanRow:
        with Session(self.engine) as session:
            row = store.load(session, plan_id)
        assert row is not None
        return row

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            rows = session.execute(select(common.outbox).order_by(common.outbox.c.seq)).all()
        return [dict(r.payload, _type=r.event_type) for r in rows
                if event_type is None or r.event_type == event_type]

    def close_through(self, today: date) -> list[dict[str, Any]]:
        """Move to ``today`` and run the day-close timer's work."""
        freeze_on(today)
        return self.call(books.tick, who=None)

    def take_quota(self, plan_id: str, day: date | None = None, less: int = 0,
                   shortfall: int = 0) -> int:
        """Leads takes today's quota (minus ``less``) for the plan; returns how many."""
        day = day or clock.today()
        def schedule(ctx: Any) -> Any:
            row = store.load(ctx.session, plan_id)
            assert row is not None, f"no plan {plan_id}"
            return store.schedule(row.plan)

        due = self.call(schedule, who=None)
        n = max(0, due.get(day, 0) - less)
        self.book.take(plan_id, n, shortfall, day)
        return n
