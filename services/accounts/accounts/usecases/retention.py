"""The account retention sweep (issue 12 §2; terms art. 10 and 3.B.v; GDPR art. 5.1.e): a
timer (``ACCOUNT_RETENTION_INTERVAL_SECONDS``, hourly, so a restart or a missed tick
never skips a day) erases the accounts whose relationship ended
``ACCOUNT_RETENTION_MONTHS`` (default 12) ago on the platform clock's Paris day. Why 12
here and 6 for the office's leads, what "ended" means and who is kept although due: the
rules are in ``accounts.domain.retention``.

The erasure is the data-subject one (``subject_requests.erase_account``), so the result is
the same as a request's: payments, subscriptions and the terms versions accepted are
kept (accounting and proof of contract), the names and postal address only for the
invoices' ten years when money was taken (then ``purge_billing_identities``), and the
email, phone, password, sessions, links, login counters, IP addresses and
rectification history go. ``user_erased`` (``reason: "retention"``) leaves through the
outbox in the batch's transaction.

Exact to the day: the query picks the accounts whose end is before the Paris midnight
that follows the last due end day (``domain.retention.ended_before``), and the domain
rule decides again on each. Idempotent: an erased account is never picked again, so a
second sweep erases nothing and emits nothing. Resumable: each batch
(``ACCOUNT_RETENTION_BATCH``) is its own transaction, committed with its events; the
accounts are walked in id order (a kept account is passed, not picked again in the same
sweep) and taken ``FOR NO KEY UPDATE SKIP LOCKED``, so a crash loses at most the batch in
flight, a second instance shares the work, and a data-subject erasure of the same
account waits for the batch (then finds it erased). The row lock does not block the
foreign-key checks of an order being placed; each candidate's ``subscribe:<id>`` lock
(the one ``create_subscription`` holds) is taken before its facts are read, so an order
committed meanwhile is seen and keeps the account. Plans says which candidates still
have a plan running; if plans cannot answer, the batch rolls back and the sweep stops
there (the next tick resumes): erasing someone a plan still delivers to would be wrong.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any

import eventlet
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.engine import Row

from accounts.domain import payments as payment_rules
from accounts.domain import retention as rules
from accounts.domain import subscriptions as subscription_rules
from accounts.domain.accounts import MEMBER_ROLES, Role
from accounts.domain.subject_requests import ERASED_AT_RETENTION
from accounts.models import payments, subscriptions, users
from accounts.usecases.context import Ctx
from accounts.usecases.subject_requests import erase_account
from suivi_common import clock
from suivi_common.settings import Tunables

log = logging.getLogger(__name__)

TUNABLES = Tunables(
    ACCOUNT_RETENTION_MONTHS=rules.DEFAULT_ACCOUNT_MONTHS,
    ACCOUNT_RETENTION_BATCH=100,
    ACCOUNT_RETENTION_INTERVAL_SECONDS=3600,
)

#: a use-case context on a transaction of its own, committed (with its events) on exit
Batches = Callable[[], AbstractContextManager[Ctx]]
#: which of these users still have a plan running (plans' ``running_plan_owners``)
RunningPlans = Callable[[list[str]], Iterable[str]]

_S = subscription_rules.Status
_OPEN = (_S.ACTIVE.value, _S.PENDING_PAYMENT.value)
#: plans answers about at most this many users at once
MAX_BATCH = 1000


def _last_office_end() -> Any:
    s = subscriptions.c
    return (select(func.max(s.ended_at))
            .where(s.user_id == users.c.id, s.activated_at.is_not(None))
            .scalar_subquery())


def pick(ctx: Ctx, ended_before: datetime, after: uuid.UUID | None, limit: int) -> list[Row]:
    """The next ``limit`` accounts (by id, after ``after``) whose end is before
    ``ended_before`` (``domain.retention.account_end`` in SQL), locked."""
    u, s = users.c, subscriptions.c
    last = _last_office_end()
    query = (select(users, last.label("last_office_end"))
             .where(u.role.in_(MEMBER_ROLES), u.erased_at.is_(None),
                    ~exists().where(s.user_id == u.id, s.status.in_(_OPEN)),
                    or_(and_(last.is_not(None),
                             func.greatest(last, u.status_changed_at) < ended_before),
                        and_(last.is_(None), u.status.in_(rules.ENDED_STATUSES),
                             u.status_changed_at < ended_before)))
             .order_by(u.id).limit(limit)
             .with_for_update(of=users, key_share=True, skip_locked=True))
    if after is not None:
        query = query.where(u.id > after)
    return list(ctx.session.execute(query))


def _users_with(ctx: Ctx, ids: list[uuid.UUID], *conditions: Any) -> set[uuid.UUID]:
    p = payments.c
    return set(ctx.session.execute(select(p.user_id).distinct().where(
        p.user_id.in_(ids), *conditions)).scalars())


def _facts(ctx: Ctx, rows: list[Row]) -> dict[uuid.UUID, rules.Account]:
    """What the rule needs of each picked account, read after its locks."""
    ids = [r.id for r in rows]
    s, u, p = subscriptions.c, users.c, payments.c
    open_subs = set(ctx.session.execute(select(s.user_id).distinct().where(
        s.user_id.in_(ids), s.status.in_(_OPEN))).scalars())
    pending = _users_with(ctx, ids, p.status == payment_rules.Status.PENDING.value)
    refunds = _users_with(ctx, ids, p.refund_status == payment_rules.RefundStatus.DUE.value)
    admins = {r.id: r.network_id for r in rows if r.role == Role.ADMIN.value and r.network_id}
    members: dict[uuid.UUID, set[uuid.UUID]] = {}
    if admins:
        for network_id, user_id in ctx.session.execute(select(u.network_id, u.id).where(
                u.network_id.in_(set(admins.values())), u.role.in_(MEMBER_ROLES),
                u.erased_at.is_(None), u.status.not_in(rules.ENDED_STATUSES))):
            members.setdefault(network_id, set()).add(user_id)
    return {r.id: rules.Account(
        role=r.role, status=r.status,
        ended_at=rules.account_end(r.status, r.last_office_end, r.status_changed_at),
        erased=r.erased_at is not None, open_subscription=r.id in open_subs,
        pending_payment=r.id in pending, refund_due=r.id in refunds,
        administers_members=bool(members.get(admins[r.id], set()) - {r.id})
        if r.id in admins else False)
        for r in rows}


def sweep_batch(ctx: Ctx, rows: list[Row], today: date, months: int, now: datetime,
                running: RunningPlans) -> tuple[int, int, Counter[str]]:
    """Erase the due accounts among ``rows`` (picked and locked in ``ctx``'s transaction):
    (accounts erased, records changed, why the others were kept)."""
    for row in rows:  # in id order, like every sweep
        ctx.lock(f"subscribe:{row.id}")
    facts = _facts(ctx, rows)
    kept: Counter[str] = Counter()
    due: list[Row] = []
    for row in rows:
        reason = rules.kept_because(facts[row.id], today, months)
        if reason is None:
            due.append(row)
        else:
            kept[reason.value] += 1
    with_plans = set(running([str(r.id) for r in due])) if due else set()
    erased = records = 0
    for row in due:
        if str(row.id) in with_plans:
            kept[rules.Kept.PLAN_RUNNING.value] += 1
            continue
        records += erase_account(ctx, row, now, reason=ERASED_AT_RETENTION)
        erased += 1
    return erased, records, kept


def sweep(batches: Batches, running: RunningPlans, limit: int | None = None) -> dict[str, Any]:
    """Erase every account due today (see the module), batch after batch; the counts."""
    today, now = clock.today(), clock.now()
    months = TUNABLES.get_int("ACCOUNT_RETENTION_MONTHS")
    size = max(1, min(MAX_BATCH, limit or TUNABLES.get_int("ACCOUNT_RETENTION_BATCH")))
    before = rules.ended_before(today, months)
    after: uuid.UUID | None = None
    erased = records = 0
    kept: Counter[str] = Counter()
    while True:
        with batches() as ctx:
            rows = pick(ctx, before, after, size)
            if rows:
                after = rows[-1].id
                done, changed, passed = sweep_batch(ctx, rows, today, months, now, running)
                erased, records = erased + done, records + changed
                kept.update(passed)
        if len(rows) < size:
            break
        eventlet.sleep(0)  # a long sweep leaves the instance's other workers their turn
    result = {"date": today.isoformat(), "months": months,
              "ended_before": before.isoformat(), "erased": erased, "records": records,
              "kept": dict(sorted(kept.items()))}
    if erased or kept:
        log.info("account retention sweep %s", result)
    return result
