"""Sub-processors (annex IV.6): the registry, and changes announced in writing before they
take effect.

The terms give controllers at least 5 days from receiving the notice to object; the notice
period is a setting (default 30 days, the usual notice in processing contracts) that is
never below 5 days. A change does not take effect for a controller who objected: for them
the sub-processor it adds stays out, and the one it replaces stays in.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pycountry

from compliance.domain.requests import RuleError
from suivi_common.clock import PARIS

KINDS = ("add", "replace")
MAX_NAME = 200
MAX_CONTACT = 500
MAX_ACTIVITY = 2000


@dataclass(frozen=True)
class Announced:
    kind: str
    name: str
    contact: str
    activity: str
    country: str
    contract_start: date
    contract_end: date | None
    replaces: str | None
    effective_from: datetime


def _text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise RuleError(f"{field}: 1 to {limit} characters", f"invalid_{field}", field)
    return value.strip()


def _date(value: object, field: str, required: bool) -> date | None:
    if value in (None, ""):
        if required:
            raise RuleError(f"{field} is required", f"{field}_required", field)
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        assert isinstance(value, str)
        return date.fromisoformat(value)
    except (AssertionError, ValueError):
        raise RuleError(f"{field}: a date (YYYY-MM-DD)", f"invalid_{field}", field) from None


def parse_country(value: object) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise RuleError("country: an ISO 3166 alpha-2 code", "invalid_country", "country")
    return code


def earliest_effective(notice_sent_at: datetime, notice: timedelta) -> datetime:
    return notice_sent_at + notice


def parse_change(data: Mapping[str, Any], notice_sent_at: datetime,
                 notice: timedelta) -> Announced:
    """Check a change; collect every bad field (raises ``ChangeProblems``)."""
    problems: dict[str, str] = {}
    out: dict[str, Any] = {}

    def take(name: str, check: Any) -> None:
        try:
            out[name] = check()
        except RuleError as err:
            problems[err.field or name] = err.message

    kind = data.get("kind")
    if kind not in KINDS:
        problems["kind"] = "add or replace"
    take("name", lambda: _text(data.get("name"), "name", MAX_NAME))
    take("contact", lambda: _text(data.get("contact"), "contact", MAX_CONTACT))
    take("activity", lambda: _text(data.get("activity"), "activity", MAX_ACTIVITY))
    take("country", lambda: parse_country(data.get("country")))
    take("contract_start", lambda: _date(data.get("contract_start"), "contract_start", True))
    take("contract_end", lambda: _date(data.get("contract_end"), "contract_end", False))
    if out.get("contract_start") and out.get("contract_end") \
            and out["contract_end"] < out["contract_start"]:
        problems["contract_end"] = "before contract_start"
    replaces = data.get("replaces")
    if kind == "replace" and not replaces:
        problems["replaces"] = "a replacement names the sub-processor it replaces"
    if kind == "add" and replaces:
        problems["replaces"] = "an addition replaces nothing"
    effective = data.get("effective_from")
    try:
        if isinstance(effective, datetime):
            when = effective
        else:
            assert isinstance(effective, str)
            when = datetime.fromisoformat(effective)
        assert when.tzinfo is not None
        earliest = earliest_effective(notice_sent_at, notice)
        if when < earliest:
            problems["effective_from"] = (f"at least {notice.days} days after the notice "
                                          f"(not before {earliest.isoformat()})")
        out["effective_from"] = when
    except (AssertionError, ValueError):
        problems["effective_from"] = "an ISO 8601 date and time with a time zone"
    if problems:
        raise ChangeProblems(problems)
    return Announced(str(kind), out["name"], out["contact"], out["activity"], out["country"],
                     out["contract_start"], out.get("contract_end"),
                     str(replaces) if replaces else None, out["effective_from"])


class ChangeProblems(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid change")
        self.fields = fields


def status(added_effective_from: datetime | None, replaced_from: datetime | None,
           now: datetime, objected_to_adding: bool = False,
           objected_to_replacing: bool = False) -> str:
    """A sub-processor's status now, for everyone or for one controller's objections.

    ``added_effective_from``: when the change that added it takes effect (None: from the
    start). ``replaced_from``: when the change replacing it takes effect, if any."""
    if added_effective_from is not None and (objected_to_adding or now < added_effective_from):
        return "objected" if objected_to_adding else "announced"
    if replaced_from is not None and not objected_to_replacing and now >= replaced_from:
        return "replaced"
    return "active"


def check_objection(effective_from: datetime, now: datetime, reason: object) -> str:
    """Objections are heard until the change takes effect."""
    if now >= effective_from:
        raise RuleError("This change is already in effect", "change_in_effect", conflict=True)
    return _text(reason, "reason", MAX_ACTIVITY)


def notice_text(change: Announced, replaced_name: str | None, url: str) -> tuple[str, str]:
    """The written notice to every controller, in French (annex IV.6): the activities, the
    sub-processor's identity and contact details, the contract dates."""
    when = change.effective_from.astimezone(PARIS).strftime("%d/%m/%Y")
    country = pycountry.countries.get(alpha_2=change.country)
    head = (f"Remplacement du sous-traitant ultérieur {replaced_name} par {change.name}"
            if change.kind == "replace" else f"Nouveau sous-traitant ultérieur : {change.name}")
    lines = [
        "Bonjour,", "",
        "Conformément aux clauses de sous-traitance, nous vous informons par écrit du "
        "changement suivant :", "", head, "",
        f"Activités de traitement sous-traitées : {change.activity}",
        f"Identité et coordonnées : {change.name}, {change.contact}",
        f"Pays : {country.name if country else change.country}",
        f"Contrat de sous-traitance : à partir du {change.contract_start.strftime('%d/%m/%Y')}"
        + (f" jusqu'au {change.contract_end.strftime('%d/%m/%Y')}" if change.contract_end
           else ""),
        f"Prise d'effet : le {when}.", "",
        f"Vous pouvez vous y opposer jusqu'à cette date : {url}",
    ]
    return head, "\n".join(lines)
