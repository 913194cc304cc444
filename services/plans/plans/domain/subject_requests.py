"""Data-subject requests as plans carries them out (GDPR art. 15 to 22; compliance README,
"Data-subject requests").

What plans stores that is personal, all of it about users of the platform (the person is
a user; plans holds nothing about prospects): their plans (tier, country, records
ordered, prices, payment method and payment id, dates, the entitlement state), the
extensions they bought, the day totals of their plans, the refund credits of their
claims, and their absences: dates, the reason's category, and for force majeure the
free-text details, the proof file and the staff comment, which may reveal health or
family matters (encrypted under the user's network key). Plans knows users by id only:
it holds no email and no phone, so it finds the person through accounts
(``accounts.subject_users``), which resolves who the request names once per request (the
same people after accounts erased or rectified the account). Several accounts sharing a
phone, without an email, are ambiguous: the task fails rather than act on someone else.

What each kind does:

* access, portability: everything above in ``data``, the proof files included (base64):
  they are what the person gave;
* rectification: plans holds none of the fields a rectification changes (names, email,
  phone, postal code, city): nothing to write;
* erasure: the absences' details, proof files and staff comments are erased. The plans,
  extensions, day totals and refund credits stay: they are the orders and their
  accounting (Code de commerce art. L123-22, ten years) and the proof of what the
  contract delivered (GDPR art. 17.3.b and 17.3.e); they hold ids, dates, amounts and
  counts, no contact data. An absence keeps its dates, status and the records it
  restored: they changed the plan's entitlement;
* restriction (art. 18): the absences' details and proofs are no longer shown to staff
  (only the user sees them); the plans keep running, since they are the service the user
  pays for and keeps using (ending them is the user's own choice, terms art. 10.B);
* objection (art. 21): plans processes the person's data only to perform the contract
  and to meet legal obligations, never on a legitimate interest of its own, so there is
  nothing to stop: the task is done with no record changed.

A task done is recorded and never done again: a retry gets the same report (access and
portability only read, so they read again and report their data).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from suivi_common import dsr

# the task contract is the library's (suivi_common.dsr); these names stay importable here
from suivi_common.dsr import DATA_KINDS as DATA_KINDS
from suivi_common.dsr import MAX_REQUEST_ID as MAX_REQUEST_ID
from suivi_common.dsr import REPORT_EVENT as REPORT_EVENT
from suivi_common.dsr import TASK_EVENT as TASK_EVENT
from suivi_common.dsr import Kind as Kind
from suivi_common.dsr import Subject as Subject
from suivi_common.dsr import Task as Task
from suivi_common.dsr import TaskError as TaskError
from suivi_common.dsr import subject_of as subject_of

SERVICE = "plans"

#: the absence columns an erasure empties (what may describe the person's life)
ERASED_ABSENCE_COLUMNS = ("details", "proof", "proof_mime", "proof_size", "proof_uploaded_at",
                          "staff_comment")


def task_for(payload: object, service: str = SERVICE) -> Task | None:
    """The task in a ``dsr_task_requested`` payload if it is plans'."""
    return dsr.task_for(payload, service)


@dataclass(frozen=True)
class SubjectUsers:
    """accounts' ``subject_users`` answer: the person's user ids."""

    user_ids: tuple[str, ...]
    ambiguous: bool = False


def subject_users_of(answer: object) -> SubjectUsers:
    data = answer if isinstance(answer, Mapping) else {}
    ids = data.get("user_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValueError("subject_users answered without a list of user ids")
    return SubjectUsers(tuple(ids), bool(data.get("ambiguous")))
