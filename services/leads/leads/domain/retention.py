"""How long leads keeps personal data it no longer needs (terms 3.B.iv, 3.B.v, art. 10;
GDPR art. 5.1.e), as calendar arithmetic on Paris days. Plain Python.

* **Office leads.** When a user's office ends, their leads are kept for a while so a
  returning user finds them, then erased. The terms disagree on how long: 3.B.v says
  6 months, art. 10 says 12. A processor may not keep data longer than the contract
  allows, and when two clauses conflict the shorter term is the one both clauses allow:
  keeping for 12 months would break 3.B.v, erasing after 6 breaks nothing art. 10 promises
  the user (art. 10 governs the *account* data, which accounts keeps 12 months). So office
  leads are erased ``OFFICE_RETENTION_MONTHS`` (default 6) after the office ended.
* **Unsold stock.** A captured lead never sold is erased ``UNSOLD_RETENTION_MONTHS``
  (default 36: three years from capture, the CNIL's usual term for prospects' data).

"Exact to the day": an office ended on Paris day D is erased on the day D + N months
(the month's last day when D's day does not exist in it: 31 August + 6 months is
28 or 29 February), and not a day earlier. ``due_through(today, N)`` is the last day whose
records are due today; every day up to it is due, none after.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta

DEFAULT_OFFICE_MONTHS = 6
DEFAULT_UNSOLD_MONTHS = 36


def add_months(day: date, months: int) -> date:
    """``day`` + ``months`` calendar months (negative goes back), clamped to month end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def due_on(day: date, months: int) -> date:
    """The day a record of ``day`` (an office's end, a capture) falls due."""
    return add_months(day, months)


def due_through(today: date, months: int) -> date:
    """The last day D with ``due_on(D, months) <= today``."""
    if months < 1:
        raise ValueError("a retention period is at least one month")
    candidate = add_months(today, -months)
    # clamping maps several days onto one month end: the later ones are due as well
    while due_on(candidate + timedelta(days=1), months) <= today:
        candidate += timedelta(days=1)
    return candidate
