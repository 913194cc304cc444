"""How long accounts keeps a user's account once the relationship has ended (terms art. 10
and 3.B.v; GDPR art. 5.1.e, 17.1.a), as calendar arithmetic on Paris days. Plain Python.

**Why 12 months, here.** The terms disagree: 3.B.v says the office's *leads* are kept six
months after the end of the office subscription, and art. 10 that "the data belonging to
the user, in particular about their contacts" are kept twelve months after the end of the
subscription. The platform resolves the conflict by data: the leads (the user's contacts,
for which the platform is the processor) go after the stricter six months (leads'
``OFFICE_RETENTION_MONTHS``: keeping them twelve would break 3.B.v), while the *account*
itself (the user's own identity, credentials and contract data, for which the platform is
the controller) is kept the twelve months art. 10 promises: a user who comes back within
the year finds their account, and art. 10 is the only clause that speaks of it.
``ACCOUNT_RETENTION_MONTHS`` (default 12) changes that; a shorter term is a decision
someone takes on purpose.

**The end.** An account's relationship ends with its last paid office subscription
(``subscriptions.ended_at`` of one that was activated: expired, withdrawn or cut short)
or with the account itself (``closed`` by staff, ``terminated`` by the user: its
``status_changed_at``). The end is the later of those and of the last status change: a
staff reactivation after the office closed is the user coming back, and a suspension or
a closure is a staff decision that starts its own twelve months. An account with a
subscription running or awaiting payment has not ended; one that never paid and is still
open has not ended either (no subscription ended, and nothing in the terms starts a
clock for it). A login alone restarts nothing: the terms count from the end of the
subscription, and looking at a closed account is what the twelve months are for.

**Exact to the day.** An end on Paris day D is due on D + N months (the month's last day
when D's day does not exist in it: 31 March + 12 months is 31 March, 29 February + 12
months is 28 February), on the first sweep of that day and never before;
``due_through(today, N)`` is the last end day due today (``suivi_common.months``, the
arithmetic leads' retention uses too).

**Kept although due** (``kept_because``), each an obligation or a return the sweep must
not cut short:

* an order awaiting payment (a subscription or a plan): the user came back, or owes it;
* a refund still due to the user: the platform owes money and must be able to pay it;
* a suspended account: a staff measure pending a decision (terms art. 10.A: the
  platform may need the account to establish or defend a claim, GDPR art. 17.3.e); staff
  close it (which starts the twelve months) or reactivate it;
* a network admin whose account is still open while the network has other live members:
  the network still runs under them (terms art. 5), their contract has not ended;
* a plan still running (plans says so): it delivers to the user.

Accounts knows no other dispute (chargebacks are not recorded). Everything else is
erased exactly as a data-subject erasure (``domain.subject_requests``): what the law
keeps (payments, subscriptions, terms versions and dates; names and postal address for
ten years after the last payment) is kept, the rest is wiped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from accounts.domain.accounts import MEMBER_ROLES, AccountStatus, Role
from suivi_common.clock import PARIS
from suivi_common.months import due_through

DEFAULT_ACCOUNT_MONTHS = 12

#: the account itself ended: its end counts even without any subscription
ENDED_STATUSES = (AccountStatus.CLOSED.value, AccountStatus.TERMINATED.value)


def paris_day(instant: datetime) -> date:
    """The Paris calendar day of an instant (an end recorded at 23:30 UTC on 31 December
    is 1 January in Paris)."""
    return instant.astimezone(PARIS).date()


def ended_before(today: date, months: int) -> datetime:
    """The instant before which an end is due today: Paris midnight after the last due
    end day (what the sweep's query compares with)."""
    day = due_through(today, months) + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=PARIS)


def account_end(status: str, last_office_end: datetime | None,
                status_changed_at: datetime | None) -> datetime | None:
    """When the account's relationship ended (see the module), None while it has not:
    the later of the last paid subscription's end, the account's own end and its last
    status change, once a subscription or the account ended."""
    if last_office_end is None and status not in ENDED_STATUSES:
        return None
    known = [t for t in (last_office_end, status_changed_at) if t is not None]
    return max(known) if known else None


class Kept(StrEnum):
    """Why an account is not erased today."""

    NOT_A_MEMBER = "not_a_member"            # staff and compliance are not parties
    ERASED = "erased"                        # already erased: nothing left to do
    NOT_ENDED = "not_ended"                  # a subscription runs or awaits payment
    NOT_DUE = "not_due"
    ORDER_PENDING = "order_pending"
    REFUND_DUE = "refund_due"
    SUSPENDED = "suspended"
    ADMINISTERS_NETWORK = "administers_network"
    PLAN_RUNNING = "plan_running"


@dataclass(frozen=True)
class Account:
    """What the rule looks at for one account."""

    role: str
    status: str
    ended_at: datetime | None            # ``account_end``; None: not ended
    erased: bool = False
    open_subscription: bool = False      # active (running or to come) or awaiting payment
    pending_payment: bool = False
    refund_due: bool = False
    administers_members: bool = False    # an admin whose network has other live members
    plan_running: bool = False


def kept_because(account: Account, today: date, months: int) -> Kept | None:
    """Why ``account`` stays today, or None: erase it (see the module)."""
    if account.role not in MEMBER_ROLES:
        return Kept.NOT_A_MEMBER
    if account.erased:
        return Kept.ERASED
    if account.open_subscription or account.ended_at is None:
        return Kept.NOT_ENDED
    if paris_day(account.ended_at) > due_through(today, months):
        return Kept.NOT_DUE
    if account.pending_payment:
        return Kept.ORDER_PENDING
    if account.refund_due:
        return Kept.REFUND_DUE
    if account.status == AccountStatus.SUSPENDED.value:
        return Kept.SUSPENDED
    if account.role == Role.ADMIN.value and account.status not in ENDED_STATUSES \
            and account.administers_members:
        return Kept.ADMINISTERS_NETWORK
    if account.plan_running:
        return Kept.PLAN_RUNNING
    return None
