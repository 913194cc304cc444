"""Data-subject requests as accounts carries them out (GDPR art. 15 to 22; compliance
README, "Data-subject requests").

Compliance sends one ``dsr_task_requested`` per holding service; accounts takes its own
(``service == "accounts"``), asks compliance for the person's identifiers
(``dsr_subject``), finds the accounts they name through its own blind indexes, acts, and
reports ``dsr_task_reported``. A task done is recorded and never done again: a retry (a
late task asked again) gets the same report, not a second erasure.

Who the person is. An email names at most one account (it is unique on the platform and
the login identifier). A phone number may be shared (a switchboard, a household), so it
names the person only when the request gives no email, and only when exactly one account
holds it: several are ambiguous and the task fails (``error``) rather than act on, or
disclose, someone else's account (the request, resolved so, stays ambiguous: compliance
registers a new one with the person's email). When the request gives an email, the phone
is not used to add accounts: an account holding the phone under another email is
somebody else, as far as accounts can tell. The answer is resolved once per request and
kept, so that every service asking later (plans finds its user ids through accounts)
gets the same people, after an erasure or a change of email.

What each kind does (rules here, storage in ``usecases.subject_requests``):

* access, portability: the account's data, decrypted, in ``data`` (one JSON document
  for both: what the person gave, and what the platform recorded about the account);
* rectification: names, email (re-indexed; refused when another account holds it), phone
  (re-indexed), postal code and city inside the postal address the account holds (a field
  the account does not hold is reported, not invented); each change keeps its previous
  value in the account's rectification history (encrypted);
* restriction (art. 18): the account is marked; from then on its data are not shown to
  the network admin and no reminder is sent: only what the contract the user keeps using
  needs still happens;
* objection (art. 21): the admin's look into the office (a legitimate interest of the
  network, terms art. 5) is turned off and no renewal reminder is sent;
* erasure (art. 17): see below.

Erasing an account with obligations. The account ends (as a termination by the user,
terms art. 10.B: running subscriptions end without refund, unpaid orders are cancelled),
its sessions, set-password links, login counters and rectification history are deleted,
the email, phone, password and terms-acceptance IP addresses are erased, and the row
keeps only its id, network, role and dates, so the payments and subscriptions that point
to it still add up. Payments and subscriptions are kept: they are accounting records
(Code de commerce art. L123-22: ten years) and the proof of contracts (GDPR art.
17.3.b and 17.3.e). When money was taken, the first and last names and the postal address
are kept too, for the same ten years after the last payment, because an invoice must name
the customer and give their address (Code de commerce art. L441-9, CGI art. 242 nonies
A); they are used for nothing else, and erased when that time is over
(``billing_retained_until``). With nothing paid, they are erased at once. The retention
sweep (``domain.retention``) erases an account whose relationship ended long enough ago
in exactly this way.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from accounts.domain.profile import ProfileError, clean_address, clean_name, normalise_email, normalise_phone
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

SERVICE = "accounts"

#: accounting records and invoices: ten years (Code de commerce art. L123-22)
ACCOUNTING_RETENTION_YEARS = 10

#: why an account was erased (``user_erased.reason``): the person asked, or the retention
#: term after the end of the relationship ran out (``domain.retention``); the erasure is
#: the same
ERASED_ON_REQUEST = "request"
ERASED_AT_RETENTION = "retention"


def task_for(payload: object, service: str = SERVICE) -> Task | None:
    """The task in a ``dsr_task_requested`` payload if it is accounts'."""
    return dsr.task_for(payload, service)


def email_key(email: str | None) -> str | None:
    """The form accounts indexes an email under (``profile.normalise_email``), None when
    it is no email accounts would have accepted."""
    if email is None:
        return None
    try:
        return normalise_email(email)
    except ProfileError:
        return None


def phone_key(phone: str | None) -> str | None:
    """The E.164 form accounts indexes a phone under, None when it is not a phone."""
    try:
        return normalise_phone(phone)
    except ProfileError:
        return None


@dataclass(frozen=True)
class Match:
    user_ids: tuple[str, ...]
    ambiguous: bool = False


def match(by_email: Iterable[str], by_phone: Iterable[str], email_given: bool) -> Match:
    """Which accounts are the person (see the module): the email's, else the phone's one."""
    if email_given:
        return Match(tuple(sorted(set(by_email))))
    holders = sorted(set(by_phone))
    if len(holders) > 1:
        return Match((), ambiguous=True)
    return Match(tuple(holders))


# --- rectification -----------------------------------------------------------------------

#: what compliance may ask to rectify (``changes``)
RECTIFIABLE = ("first_name", "last_name", "email", "phone", "postal_code", "city")
#: the columns of ``users`` a rectification writes, each encrypted
COLUMNS = ("first_name", "last_name", "email", "phone")


@dataclass(frozen=True)
class Rectification:
    """What to write: new column values, the new postal address (when postal code or city
    change the one held), the fields asked that the account does not hold, and problems
    (a field whose new value is not valid: then nothing is written)."""

    columns: dict[str, str | None]
    address: dict[str, str] | None
    fields: tuple[str, ...]       # the rectified fields, as asked
    unchanged: tuple[str, ...]    # asked, already so
    not_held: tuple[str, ...]     # asked, the account holds no such data
    problems: dict[str, str]

    @property
    def changes_anything(self) -> bool:
        return bool(self.columns) or self.address is not None


def plan_rectification(changes: Mapping[str, Any], current: Mapping[str, Any]) -> Rectification:
    """Compare the asked values with ``current`` (``first_name, last_name, email, phone,
    address`` decrypted) and clean them with the account's own rules."""
    columns: dict[str, str | None] = {}
    fields: list[str] = []
    unchanged: list[str] = []
    not_held: list[str] = []
    problems: dict[str, str] = {}
    for name in sorted(set(changes) - set(RECTIFIABLE)):
        problems[name] = "not a field accounts can rectify"
    cleaners: dict[str, Callable[[Any], str | None]] = {
                "first_name": lambda v: clean_name(v, "first_name"),
                "last_name": lambda v: clean_name(v, "last_name"),
                "email": normalise_email, "phone": normalise_phone}
    for name in COLUMNS:
        if name not in changes:
            continue
        try:
            value = cleaners[name](changes[name])
        except ProfileError as err:
            problems[name] = err.message
            continue
        if value == current.get(name):
            unchanged.append(name)
        else:
            columns[name] = value
            fields.append(name)
    address = None
    asked = [name for name in ("postal_code", "city") if name in changes]
    held = current.get("address")
    if asked and not held:
        not_held.extend(asked)
    elif asked:
        assert isinstance(held, Mapping)
        proposed = dict(held)
        for name in asked:
            proposed[name] = changes[name]
        try:
            cleaned = clean_address(proposed)
        except ProfileError as err:
            for name in asked:
                problems[name] = err.message
        else:
            assert cleaned is not None  # the held address had every required part
            for name in asked:
                if cleaned.get(name) == held.get(name):
                    unchanged.append(name)
                else:
                    fields.append(name)
            if cleaned != dict(held):
                address = cleaned
    return Rectification(columns, address, tuple(fields), tuple(unchanged), tuple(not_held),
                         problems)


# --- erasure -------------------------------------------------------------------------------

def billing_retained_until(last_paid_on: date | None) -> date | None:
    """Until when the names and postal address stay for the invoices: ten years after the
    last payment that took money; None when nothing was ever paid (erase them now)."""
    if last_paid_on is None:
        return None
    year = last_paid_on.year + ACCOUNTING_RETENTION_YEARS
    try:
        return last_paid_on.replace(year=year)
    except ValueError:  # 29 February
        return last_paid_on.replace(year=year, day=28)
