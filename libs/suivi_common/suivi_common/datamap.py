"""The data-map format every service declares in code for the register (annex IV.14).

A data map lists a service's processing activities: the categories of data, purposes,
legal basis, persons concerned, retention, recipients, security measures and transfers.
A service answers ``data_map()`` (RPC, for compliance) with ``DataMap.as_dict()``;
compliance checks each answer with ``parse_data_map`` and assembles the register from
them, so nothing in the register is typed by hand. The JSON Schema below is the
contract; it is here, once, so that the services that declare and the one that reads
cannot drift apart.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 1
MAX_TEXT = 2000

_TEXT = {"type": "string", "minLength": 1}
_TEXTS = {"type": "array", "minItems": 1, "items": {"type": "string"}}

DATA_MAP_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Suivi service data map",
    "type": "object",
    "required": ["service", "format_version", "activities"],
    "additionalProperties": False,
    "properties": {
        "service": {"type": "string", "minLength": 1, "maxLength": 40},
        "format_version": {"const": FORMAT_VERSION},
        "activities": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "role", "purposes", "legal_basis", "data_subjects",
                         "categories", "retention", "recipients", "security_measures"],
            "additionalProperties": False,
            "properties": {
                **dict.fromkeys(("name", "legal_basis", "retention"), _TEXT),
                # processor: on behalf of the users (annex); controller: the platform's own
                "role": {"enum": ["processor", "controller"]},
                **dict.fromkeys(("purposes", "data_subjects", "categories",
                                 "security_measures"), _TEXTS),
                "recipients": {"type": "array", "items": {"type": "string"}},
                "transfers_outside_eu": {"type": ["string", "null"]},
            },
        }},
    },
}


@dataclass(frozen=True)
class Activity:
    name: str
    role: str  # processor | controller
    purposes: tuple[str, ...]
    legal_basis: str
    data_subjects: tuple[str, ...]
    categories: tuple[str, ...]
    retention: str
    recipients: tuple[str, ...]
    security_measures: tuple[str, ...]
    transfers_outside_eu: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "purposes": list(self.purposes),
                "legal_basis": self.legal_basis, "data_subjects": list(self.data_subjects),
                "categories": list(self.categories), "retention": self.retention,
                "recipients": list(self.recipients),
                "security_measures": list(self.security_measures),
                "transfers_outside_eu": self.transfers_outside_eu}


def controller(name: str, purposes: tuple[str, ...], legal_basis: str,
               data_subjects: tuple[str, ...], categories: tuple[str, ...], retention: str,
               recipients: tuple[str, ...], security_measures: tuple[str, ...]) -> Activity:
    """An activity the platform carries out for itself (no transfer outside the EU)."""
    return Activity(name, "controller", purposes, legal_basis, data_subjects, categories,
                    retention, recipients, security_measures)


@dataclass(frozen=True)
class DataMap:
    service: str
    activities: tuple[Activity, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """The ``data_map()`` answer: a fresh copy each time (callers may change it)."""
        return {"service": self.service, "format_version": FORMAT_VERSION,
                "activities": [a.as_dict() for a in self.activities]}


def _texts(value: Any, where: str, minimum: int = 1) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) < minimum or not all(
            isinstance(v, str) and v.strip() and len(v) <= MAX_TEXT for v in value):
        raise ValueError(f"{where}: a list of at least {minimum} non-empty strings")
    return tuple(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise ValueError(f"{where}: a non-empty string")
    return value


def parse_data_map(data: Any) -> DataMap:
    """Check a service's answer against the schema (raises ValueError naming the field)."""
    if not isinstance(data, Mapping):
        raise ValueError("a data map is an object")
    extra = set(data) - {"service", "format_version", "activities"}
    if extra:
        raise ValueError(f"unknown fields: {', '.join(sorted(extra))}")
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format_version must be {FORMAT_VERSION}")
    service = _text(data.get("service"), "service")
    if not isinstance(data.get("activities"), list):
        raise ValueError("activities: a list")
    allowed = set(DATA_MAP_SCHEMA["properties"]["activities"]["items"]["properties"])
    activities = []
    for i, raw in enumerate(data["activities"]):
        where = f"activities[{i}]"
        if not isinstance(raw, Mapping) or set(raw) - allowed:
            raise ValueError(f"{where}: an object with the schema's fields only")
        if raw.get("role") not in ("processor", "controller"):
            raise ValueError(f"{where}.role: processor or controller")
        transfers = raw.get("transfers_outside_eu")
        if transfers is not None:
            transfers = _text(transfers, f"{where}.transfers_outside_eu")
        activities.append(Activity(
            name=_text(raw.get("name"), f"{where}.name"), role=str(raw["role"]),
            purposes=_texts(raw.get("purposes"), f"{where}.purposes"),
            legal_basis=_text(raw.get("legal_basis"), f"{where}.legal_basis"),
            data_subjects=_texts(raw.get("data_subjects"), f"{where}.data_subjects"),
            categories=_texts(raw.get("categories"), f"{where}.categories"),
            retention=_text(raw.get("retention"), f"{where}.retention"),
            recipients=_texts(raw.get("recipients"), f"{where}.recipients", minimum=0),
            security_measures=_texts(raw.get("security_measures"),
                                     f"{where}.security_measures"),
            transfers_outside_eu=transfers))
    return DataMap(service, tuple(activities))


# --- the map against the tables --------------------------------------------------------------
#
# A data map names activities, not tables; each service also declares which activity each of
# its tables serves (``TABLES``) and which tables hold no personal data (``NOT_PERSONAL``,
# with the reason). ``table_coverage`` holds the two declarations to the service's table
# metadata, so a table added without a map entry fails that service's test. The rule: every
# table is either in an activity or declared not personal; a table declared not personal
# may not have a column that looks personal (``personal_looking``), so the list of
# exceptions cannot quietly swallow a table of people.

#: the tables ``suivi_common.tables.define_common_tables`` adds to every service (events
#: in transit and handled, dead letters, wrapped data keys): the platform's plumbing, held
#: under the security measures of each activity, not an activity of their own
INFRASTRUCTURE_TABLES: Mapping[str, str] = {
    "outbox": "événements en attente de publication (identifiants, jamais de mot de passe)",
    "inbox": "identifiants des messages déjà traités (dédoublonnage)",
    "dead_letters": "messages en échec, leurs champs sensibles masqués",
    "data_keys": "clés de chiffrement, elles-mêmes chiffrées par la clé maîtresse",
}

#: column names that point at a person (a user, an author, an actor)
PERSON_COLUMNS = frozenset({
    "user_id", "owner_id", "member_id", "admin_id", "actor_id", "author_id", "buyer_id",
    "controller_id", "staff_id", "recipient_id"})


def personal_looking(column: Any) -> bool:
    """Whether a SQLAlchemy column looks like it holds personal data: an encrypted value
    (``LargeBinary``), a blind index, an address, phone or name, an IP, or a reference to
    a person (``user_id``, ``*_by``...)."""
    from sqlalchemy import LargeBinary  # the library's declaring modules stay SQL-free

    name = column.name.lower()
    return (isinstance(column.type, LargeBinary) or name in PERSON_COLUMNS
            or name.endswith(("_bidx", "_by", "_ip")) or name == "ip"
            or any(word in name for word in ("email", "phone", "mobile", "first_name",
                                             "last_name", "address")))


def table_coverage(tables: Mapping[str, Any], data_map: Mapping[str, Any],
                   mapped: Mapping[str, str], not_personal: Mapping[str, str]) -> list[str]:
    """What is wrong between a service's tables (``metadata.tables``), its ``data_map()``
    answer and its two declarations: ``mapped`` (table -> the name of the activity that
    processes it) and ``not_personal`` (table -> why it holds no personal data). Empty
    when every table is accounted for; each problem is one sentence naming the table."""
    activities = {a.name for a in parse_data_map(data_map).activities}
    problems = []
    for name, table in sorted(tables.items()):
        if name in INFRASTRUCTURE_TABLES:
            continue
        if name in mapped and name in not_personal:
            problems.append(f"{name}: both mapped and declared not personal")
        elif name in mapped:
            if mapped[name] not in activities:
                problems.append(f"{name}: mapped to {mapped[name]!r}, which is no activity "
                                f"of the data map")
        elif name in not_personal:
            if not str(not_personal[name]).strip():
                problems.append(f"{name}: declared not personal without a reason")
            looks = sorted(c.name for c in table.columns if personal_looking(c))
            if looks:
                problems.append(f"{name}: declared not personal, but {', '.join(looks)} "
                                f"look personal: name it in an activity of the data map")
        else:
            problems.append(f"{name}: a table the data map does not account for: add it to "
                            f"an activity (its purpose, legal basis, categories, retention) "
                            f"and to the service's table list, or declare it not personal")
    for name in sorted((set(mapped) | set(not_personal)) - set(tables)):
        problems.append(f"{name}: declared, but there is no such table")
    return problems
