"""Withdrawal right on a subscription (terms art. 6, former Consumer Code L121-20).

The terms grant "sept jours francs" to withdraw without reason or penalty, unless
"l'exécution de la prestation de service a commencé, avec l'accord du client".
We take the reading most favourable to the user asking to withdraw:

* **The window** counts from the day the payment was validated (nothing is owed
  before). Days are "francs": the day of validation does not count, and the whole
  seventh day after it (Paris time) is included. When that last day is a Saturday,
  Sunday or public holiday, the window runs to the next working day (the extension
  L121-20 itself provided). Validated on Monday 2 March: the last day is Monday 9 March.
* **"Service started"** means the user has actually consumed something paid beyond
  the office itself: another paid order of theirs (a plan of leads, an extension)
  was validated after this subscription's payment. Leads delivered cannot be given
  back. Merely logging in or looking at the office does *not* count: opening the
  office is what the subscription makes available, not an irreversible performance
  the user explicitly asked to start early.
* A subscription not yet paid can always be cancelled; one already over, withdrawn
  or cancelled cannot be withdrawn.
* A withdrawal refunds the full amount paid (recorded as due on the payment).
"""
from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from accounts.domain.calendar_fr import next_working_day_from

WITHDRAWAL_DAYS = 7


class Refusal(StrEnum):
    WINDOW_CLOSED = "withdrawal_window_closed"
    SERVICE_STARTED = "withdrawal_service_started"


def last_day(validated_on: date) -> date:
    """The last calendar day (Paris) on which withdrawal is still possible."""
    return next_working_day_from(validated_on + timedelta(days=WITHDRAWAL_DAYS))


def refusal(validated_on: date, today: date, service_started: bool) -> Refusal | None:
    """Why an active subscription paid on ``validated_on`` (Paris) cannot be withdrawn
    ``today``, or None if it can."""
    if today > last_day(validated_on):
        return Refusal.WINDOW_CLOSED
    if service_started:
        return Refusal.SERVICE_STARTED
    return None
