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
