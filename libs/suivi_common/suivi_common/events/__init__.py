"""Event contracts: every event type, its payload's fields, who emits it and who consumes it.

The catalogue is data, ``catalogue.toml`` beside this module, read once at import; each
entry documents itself (``doc``, ``emitted_by``, ``consumed_by``). A field's type is one of
``str``, ``id`` (a string id), ``int``, ``float``, ``bool``, ``list``, ``dict``, ``date``
and ``datetime`` (ISO 8601 strings), ``any``; ``| None`` lets it be null, a leading
``optional`` lets it be absent. A payload may carry no field its entry does not declare.

``outbox.emit`` and ``broadcast.EventDispatcher`` call ``validate`` on every event, in
every environment (an undeclared event or a drifting payload is a bug, and the check costs
microseconds); the outbox relay checks the rows it publishes in dev and test too, which
covers events written set-based in SQL. Tests build consumers' input with ``example``.
Errors name fields and types, never values: payloads hold personal data.
"""
from __future__ import annotations

import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from suivi_common import clock


class ContractError(ValueError):
    """An undeclared event, or a payload that does not match its declaration: a bug."""


def _iso(parse: Callable[[str], object]) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not isinstance(value, str):
            return False
        try:
            parse(value)
        except ValueError:
            return False
        return True
    return check


def _number(kinds: type | tuple[type, ...]) -> Callable[[object], bool]:
    return lambda v: isinstance(v, kinds) and not isinstance(v, bool)


#: type name -> (check, example value for ``example``)
TYPES: dict[str, tuple[Callable[[object], bool], Callable[[str], object]]] = {
    "str": (lambda v: isinstance(v, str), lambda name: name),
    "id": (lambda v: isinstance(v, str), lambda name: str(uuid.uuid4())),
    "int": (_number(int), lambda name: 1),
    "float": (_number((int, float)), lambda name: 0.0),
    "bool": (lambda v: isinstance(v, bool), lambda name: False),
    "list": (lambda v: isinstance(v, list | tuple), lambda name: []),
    "dict": (lambda v: isinstance(v, Mapping), lambda name: {}),
    "date": (_iso(date.fromisoformat), lambda name: clock.today().isoformat()),
    "datetime": (_iso(datetime.fromisoformat), lambda name: clock.now().isoformat()),
    "any": (lambda v: True, lambda name: None),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    nullable: bool = False
    required: bool = True

    @classmethod
    def parse(cls, name: str, spec: str) -> Field:
        words = spec.replace("|", " | ").split()
        required = words[:1] != ["optional"]
        words = words[0 if required else 1:]
        nullable = words[1:] == ["|", "None"]
        if not words or words[0] not in TYPES or len(words) != (3 if nullable else 1):
            raise ContractError(f"field {name}: unknown type {spec!r}")
        return cls(name, words[0], nullable, required)

    def accepts(self, value: object) -> bool:
        return (value is None and self.nullable) or TYPES[self.type][0](value)


@dataclass(frozen=True)
class Event:
    name: str
    version: int
    emitted_by: tuple[str, ...]
    consumed_by: tuple[str, ...]
    doc: str
    fields: Mapping[str, Field]
    broadcast: bool = False
    emitted: bool = True  # False: declared for its consumers, not emitted yet
    examples: Mapping[str, Any] = field(default_factory=dict)
    #: emitters named in the contract that do not emit it yet (a contract being rolled out)
    pending: tuple[str, ...] = ()

    def problems(self, payload: Mapping[str, Any]) -> list[str]:
        if not isinstance(payload, Mapping):
            return [f"the payload is a {type(payload).__name__}, not an object"]
        out = []
        for key, value in payload.items():
            f = self.fields.get(key)
            if f is None:
                out.append(f"{key} is not declared")
            elif not f.accepts(value):
                out.append(f"{key} is {type(value).__name__}, not {f.type}"
                           + (" | None" if f.nullable else ""))
        return out + [f"{f.name} is missing" for f in self.fields.values()
                      if f.required and f.name not in payload]


def load(text: str) -> dict[str, Event]:
    """Parse catalogue entries (``catalogue.toml``'s format)."""
    raw = tomllib.loads(text)
    out = {}
    for name, entry in raw.items():
        base = raw.get(entry.get("fields_of", ""), {})
        specs = {**base.get("fields", {}), **entry.get("fields", {})}
        out[name] = Event(
            name, int(entry["version"]), tuple(entry["emitted_by"]), tuple(entry["consumed_by"]),
            str(entry["doc"]), {k: Field.parse(k, v) for k, v in specs.items()},
            bool(entry.get("broadcast", False)), bool(entry.get("emitted", True)),
            {**base.get("example", {}), **entry.get("example", {})},
            tuple(entry.get("pending_emitters", ())))
    return out


CATALOGUE: dict[str, Event] = load((Path(__file__).parent / "catalogue.toml").read_text())


def get(event_type: str) -> Event:
    event = CATALOGUE.get(event_type)
    if event is None:
        raise ContractError(f"event {event_type!r} is not declared: declare its contract in "
                            "suivi_common/events/catalogue.toml")
    return event


def validate(event_type: str, payload: Mapping[str, Any]) -> None:
    """Raise ``ContractError`` unless ``payload`` is a valid ``event_type``."""
    problems = get(event_type).problems(payload)
    if problems:
        raise ContractError(f"{event_type} payload does not match its contract: "
                            + "; ".join(problems))


def example(event_type: str, **overrides: Any) -> dict[str, Any]:
    """A valid payload of ``event_type`` (fresh ids, today's date), with ``overrides``;
    an optional field is left out unless given. Refused like an emit if invalid."""
    event = get(event_type)
    payload = {f.name: event.examples[f.name] if f.name in event.examples
               else TYPES[f.type][1](f.name) for f in event.fields.values() if f.required}
    payload.update(overrides)
    validate(event_type, payload)
    return payload


def unconsumed() -> list[Event]:
    """Declared events that nothing consumes yet (``consumed_by = []``)."""
    return [e for e in CATALOGUE.values() if not e.consumed_by]


def not_emitted() -> list[Event]:
    """Declared events that their consumers wait for but nothing emits yet."""
    return [e for e in CATALOGUE.values() if not e.emitted]
