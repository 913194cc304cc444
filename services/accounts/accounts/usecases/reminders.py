"""``subscription_ending_soon {user_id, network_id, subscription_id, ends_on,
plans_running}``: a
reminder, ``SUBSCRIPTION_REMINDER_DAYS`` before a subscription's last day, for the mailer
(rule in ``domain.subscriptions.reminder_due``).

A timer runs it (``SUBSCRIPTION_REMINDER_INTERVAL_SECONDS``, hourly by default, so a
restart or a missed tick never skips a day); the platform clock says what today is. Once
per subscription: the reminder is marked on the row (``reminded_at``) in the transaction
that emits it, rows are taken ``FOR UPDATE SKIP LOCKED`` (several instances share the
work, none twice). A user who objected, whose processing is restricted, or whose account
cannot be used gets none; a subscription a paid renewal follows is left unmarked, so a
renewal withdrawn later still leaves time for the reminder.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, timedelta

from sqlalchemy import select, update

from accounts.domain import subscriptions as rules
from accounts.domain.accounts import MEMBER_ROLES, AccountStatus
from accounts.models import subscriptions, users
from accounts.usecases.context import Ctx
from accounts.usecases.users import iso
from suivi_common import clock

S = rules.Status
#: which of these users still have a plan running (plans' ``running_plan_owners``)
RunningPlans = Callable[[list[str]], Iterable[str]]


def remind_ending(ctx: Ctx, running: RunningPlans, limit: int = 500) -> int:
    """Emit the reminders due today; returns how many went out.

    ``running(user_ids)`` says which of them still have a plan running (plans'
    ``running_plan_owners``): their reminder warns that the plan's leads need an office
    (terms art. 10). If plans cannot answer, nothing is sent this time: the timer tries
    again, and a reminder without its warning would mislead."""
    today, now, days = clock.today(), clock.now(), ctx.settings.reminder_days
    s, u = subscriptions.c, users.c
    rows = ctx.session.execute(
        select(subscriptions).join(users, u.id == s.user_id).where(
            s.status == S.ACTIVE.value, s.reminded_at.is_(None), s.ends_on >= today,
            s.ends_on <= today + timedelta(days=days), u.role.in_(MEMBER_ROLES),
            u.status == AccountStatus.ACTIVE.value, u.erased_at.is_(None),
            u.restricted_at.is_(None), u.objected_at.is_(None))
        .order_by(s.ends_on, s.id).limit(limit)
        .with_for_update(of=subscriptions, skip_locked=True)).all()
    if not rows:
        return 0
    ends: dict[object, list[date]] = defaultdict(list)
    for user_id, ends_on in ctx.session.execute(select(s.user_id, s.ends_on).where(
            s.user_id.in_({r.user_id for r in rows}), s.status == S.ACTIVE.value)):
        ends[user_id].append(ends_on)
    due = [r for r in rows if rules.reminder_due(r.ends_on, today, days, ends[r.user_id])]
    with_plans = set(running(sorted({str(r.user_id) for r in due}))) if due else set()
    sent = 0
    for row in due:
        ctx.session.execute(update(subscriptions).where(subscriptions.c.id == row.id)
                            .values(reminded_at=now))
        ctx.emit("subscription_ending_soon", {
            "user_id": str(row.user_id), "network_id": str(row.network_id),
            "subscription_id": str(row.id), "ends_on": iso(row.ends_on),
            "plans_running": str(row.user_id) in with_plans})
        sent += 1
    return sent
