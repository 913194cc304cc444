"""Personal data breaches (GDPR art. 33-34; annex IV.9): what a declaration must say, the
72-hour deadline, the notices to controllers in stages, and the authority notification
record a controller's approval produces (art. 33(3) contents).

The processor tells each controller without undue delay; with the controller's approval it
notifies the CNIL within 72 hours of becoming aware, and the affected persons when the
risk is high. Times are passed in (the platform clock is read by the use cases).
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from compliance.domain.categories import DATA_CATEGORIES, labelled
from compliance.domain.requests import RuleError
from suivi_common.clock import PARIS

AUTHORITY_DEADLINE = timedelta(hours=72)
#: Services a breach may concern (where the incident happened).
SERVICES = ("gateway", "accounts", "plans", "leads", "mailer", "compliance")
SCOPE_KINDS = ("networks", "users", "all")
MAX_TEXT = 4000
MAX_IDS = 10_000


@dataclass(frozen=True)
class Scope:
    kind: str
    ids: tuple[str, ...]
    changed_from: datetime | None
    changed_to: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ids": list(self.ids),
                "changed_from": self.changed_from.isoformat() if self.changed_from else None,
                "changed_to": self.changed_to.isoformat() if self.changed_to else None}

    def for_leads(self, categories: list[str]) -> dict[str, Any]:
        """The argument of ``leads.breach_scope``."""
        return {"kind": self.kind,
                "network_ids": list(self.ids) if self.kind == "networks" else [],
                "user_ids": list(self.ids) if self.kind == "users" else [],
                "changed_from": self.changed_from.isoformat() if self.changed_from else None,
                "changed_to": self.changed_to.isoformat() if self.changed_to else None,
                "data_categories": categories}


def _instant(value: object, field: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            assert isinstance(value, str)
            parsed = datetime.fromisoformat(value)
        except (AssertionError, ValueError):
            raise RuleError(f"{field} must be an ISO 8601 date and time", f"invalid_{field}",
                            field) from None
    if parsed.tzinfo is None:
        raise RuleError(f"{field} needs a time zone", f"invalid_{field}", field)
    return parsed


def parse_detected_at(value: object, now: datetime) -> datetime:
    detected = _instant(value, "detected_at")
    if detected > now + timedelta(minutes=5):
        raise RuleError("A breach cannot be detected in the future", "detected_in_future",
                        "detected_at")
    return detected


def parse_text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError(f"{field} is required", f"{field}_required", field)
    if len(value) > MAX_TEXT:
        raise RuleError(f"{field}: at most {MAX_TEXT} characters", f"invalid_{field}", field)
    return value.strip()


def parse_choices(value: object, field: str, allowed: tuple[str, ...] | list[str]) -> list[str]:
    if not isinstance(value, list) or not value:
        raise RuleError(f"{field}: a non-empty list", f"invalid_{field}", field)
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise RuleError(f"{field}: unknown {', '.join(map(str, unknown))}", f"invalid_{field}",
                        field)
    return list(dict.fromkeys(value))  # no duplicates, order kept


def parse_categories(value: object) -> list[str]:
    return parse_choices(value, "data_categories", list(DATA_CATEGORIES))


def parse_scope(value: object) -> Scope:
    if not isinstance(value, Mapping):
        raise RuleError("scope: {kind, ids?, changed_from?, changed_to?}", "invalid_scope", "scope")
    kind = value.get("kind")
    if kind not in SCOPE_KINDS:
        raise RuleError("scope.kind: networks, users or all", "invalid_scope", "scope")
    ids = value.get("ids") or []
    if kind == "all":
        if ids:
            raise RuleError("scope: a breach of all data names no ids", "invalid_scope", "scope")
    else:
        if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS:
            raise RuleError(f"scope.ids: 1 to {MAX_IDS} {kind} ids", "invalid_scope", "scope")
        try:
            ids = [str(uuid.UUID(str(i))) for i in ids]
        except ValueError:
            raise RuleError("scope.ids: ids are UUIDs", "invalid_scope", "scope") from None
    start = value.get("changed_from")
    end = value.get("changed_to")
    start_at = _instant(start, "scope") if start not in (None, "") else None
    end_at = _instant(end, "scope") if end not in (None, "") else None
    if start_at and end_at and start_at > end_at:
        raise RuleError("scope: changed_from is after changed_to", "invalid_scope", "scope")
    return Scope(str(kind), tuple(dict.fromkeys(ids)), start_at, end_at)


def deadline(detected_at: datetime) -> datetime:
    return detected_at + AUTHORITY_DEADLINE


def countdown(detected_at: datetime, now: datetime) -> dict[str, Any]:
    """The 72 hours to notify the authority: what is left, on the platform clock."""
    due = deadline(detected_at)
    left = (due - now).total_seconds()
    return {"deadline_at": due.isoformat(), "seconds_remaining": max(0, int(left)),
            "overdue": left < 0}


def parse_scope_answer(answer: object) -> list[dict[str, Any]]:
    """What ``leads.breach_scope`` answered: one row per affected controller."""
    if not isinstance(answer, list):
        raise ValueError("breach_scope must answer a list")
    rows: dict[str, dict[str, Any]] = {}
    for item in answer:
        if not isinstance(item, Mapping):
            raise ValueError("breach_scope items are objects")
        user_id, persons, records = item.get("user_id"), item.get("persons"), item.get("records")
        if not user_id or not isinstance(persons, int) or not isinstance(records, int) \
                or persons < 0 or records < 0:
            raise ValueError("breach_scope items: {user_id, network_id, persons, records}")
        rows[str(user_id)] = {"user_id": str(user_id),
                              "network_id": str(item["network_id"]) if item.get("network_id")
                              else None, "persons": persons, "records": records}
    return list(rows.values())


@dataclass(frozen=True)
class Dpo:
    name: str
    email: str

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name or None, "email": self.email or None}

    def line(self) -> str:
        if not (self.name or self.email):
            return "le délégué à la protection des données de la plateforme"
        return " – ".join(p for p in (self.name, self.email) if p)


def _paris(instant: datetime) -> str:
    return instant.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def notice_text(breach: Mapping[str, Any], controller: Mapping[str, Any], stage: int,
                dpo: Dpo, update: str | None, approval_url: str,
                first: bool = True) -> tuple[str, str]:
    """Subject and body, in plain French, of the notice to one controller (annex IV.9).
    ``first``: the controller's first notice (it repeats what earlier stages added, if a
    recount found them late); otherwise a follow-up carrying ``update``."""
    categories = ", ".join(c["label"] for c in labelled(breach["data_categories"]))
    if first:
        subject = "Violation de données personnelles vous concernant"
        intro = ("En tant que sous-traitant de vos données, nous vous informons d'une violation "
                 "de données à caractère personnel qui concerne des données que vous nous "
                 "confiez.")
    else:
        subject = ("Violation de données personnelles : information complémentaire "
                   f"n° {stage - 1}")
        intro = ("Voici de nouvelles informations sur la violation de données que nous vous "
                 "avons signalée.")
    lines = ["Bonjour,", "", intro, ""]
    if update:
        lines += ["Informations complémentaires :" if first else "Nouvelles informations :",
                  update, ""]
    lines += [
        "Nature de la violation :", breach["nature"], "",
        f"Catégories de données concernées : {categories}.",
        f"Nombre approximatif de personnes concernées : {controller['persons']}.",
        f"Nombre approximatif d'enregistrements concernés : {controller['records']}.",
        "",
        "Conséquences probables :", breach["likely_consequences"], "",
        "Mesures prises ou envisagées :", breach["measures_taken"], "",
        f"Violation constatée le {_paris(breach['detected_at'])}. Si vous nous y autorisez, "
        f"nous la notifierons à la CNIL en votre nom avant le "
        f"{_paris(deadline(breach['detected_at']))} (72 heures).",
        f"Pour donner votre accord, et dire s'il faut informer les personnes concernées : "
        f"{approval_url}",
        "",
        f"Pour toute question : {dpo.line()}.",
    ]
    return subject, "\n".join(lines)


def subject_notice_text(breach: Mapping[str, Any], dpo: Dpo) -> tuple[str, str]:
    """What each affected person is told (art. 34): clear and plain French, no counts of
    other people's data beyond what art. 34(2) requires."""
    categories = ", ".join(c["label"] for c in labelled(breach["data_categories"]))
    body = "\n".join([
        "Bonjour,", "",
        "Nous vous informons d'une violation de données à caractère personnel qui concerne "
        "des données vous concernant.", "",
        "Ce qui s'est passé :", breach["nature"], "",
        f"Données concernées : {categories}.", "",
        "Conséquences probables :", breach["likely_consequences"], "",
        "Mesures prises :", breach["measures_taken"], "",
        f"Pour toute question : {dpo.line()}.",
    ])
    return "Information sur une violation de vos données personnelles", body


def authority_record(breach: Mapping[str, Any], controller: Mapping[str, Any],
                     stages: list[dict[str, Any]], dpo: Dpo, processor: str,
                     approved_at: datetime, notify_subjects: bool,
                     first_notice_at: datetime | None) -> dict[str, Any]:
    """The fields a CNIL notification asks for (art. 33(3)), with counts and timeline."""
    due = deadline(breach["detected_at"])
    return {
        "breach_id": str(breach["id"]),
        "controller": {"user_id": controller["user_id"], "network_id": controller["network_id"]},
        "processor": processor,
        "nature": breach["nature"],  # 33(3)(a)
        "data_categories": labelled(breach["data_categories"]),
        "approximate_persons": controller["persons"],
        "approximate_records": controller["records"],
        "dpo": dpo.as_dict(),  # 33(3)(b)
        "likely_consequences": breach["likely_consequences"],  # 33(3)(c)
        "measures_taken": breach["measures_taken"],  # 33(3)(d)
        "services": list(breach["services"]),
        "scope": breach["scope"],
        "subjects_to_be_notified": notify_subjects,  # art. 34
        "timeline": {
            "detected_at": breach["detected_at"].isoformat(),
            "declared_at": breach["declared_at"].isoformat(),
            "controller_notified_at": first_notice_at.isoformat() if first_notice_at else None,
            "controller_approved_at": approved_at.isoformat(),
            "authority_deadline_at": due.isoformat(),
            "within_72_hours": approved_at <= due,
            # art. 33(1): a notification made later says why; the controller adds the reasons
            "reasons_for_delay_required": approved_at > due,
        },
        "stages": stages,  # information given in phases (art. 33(4))
    }
