"""The stale-lead reminder's calendar (issue 12 §2; terms 3.B.iv: the user must delete the
leads that never followed up). Plain Python: dates are arguments.

* **Stale.** A lead is stale once ``STALE_LEAD_MONTHS`` (default 12) calendar months have
  passed since its last activity (an edit, a note, a status move, an e-mail sent to it),
  counted like the retention terms (``domain.retention``: clamped to the month's end,
  exact to the Paris day). ``inactive_since(today, N)`` is the first Paris day whose
  activity still counts: a lead with no activity on or after it is stale today. It is the
  value of the office filter ``inactive_since`` the e-mail links to, so the count in the
  e-mail and the view behind its link are the same rule.
* **Monthly.** One reminder per user and calendar month (the Paris month of the platform
  clock): ``month_of(today)`` names the run, and a run is due while the month has none.
  The run that finds a month's first Paris day (or the first after it, if the platform
  was down) is that month's; nothing in a month can ask for a second one.
"""
from __future__ import annotations

from datetime import date, timedelta

from suivi_common.months import due_through

DEFAULT_STALE_MONTHS = 12


def month_of(today: date) -> date:
    """The calendar month ``today`` is in, as its first day (the run's key)."""
    return today.replace(day=1)


def inactive_since(today: date, months: int) -> date:
    """The first day whose activity keeps a lead off the reminder today (see the module)."""
    return due_through(today, months) + timedelta(days=1)


def run_due(today: date, last_run_month: date | None) -> bool:
    """Whether today's month still awaits its reminder run."""
    return last_run_month is None or last_run_month < month_of(today)
