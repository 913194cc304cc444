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
records are due today; every day up to it is due, none after. That arithmetic is the
common library's (``suivi_common.months``), shared with accounts' retention.
"""
from __future__ import annotations

DEFAULT_OFFICE_MONTHS = 6
DEFAULT_UNSOLD_MONTHS = 36
