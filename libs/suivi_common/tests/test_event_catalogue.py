"""The catalogue (``suivi_common/events/catalogue.toml``) tells the truth about the tree.

Read from the production sources (services, gateway, the common library; no tests): every
event a call sends (``emit``, ``emit_in``, ``publish`` of plans' snapshots, ``dispatch``
of broadcasts, with a literal name or a constant) or a SQL statement writes into the
outbox is declared, by its emitter; every event a handler consumes (``reliable_handler``,
``event_handler``, ``forwarding_handler``) is declared, from its source, for its
consumer. And the other way round: a declared emitter emits it (unless
``emitted = false``), a declared consumer has its handler, so ``events.unconsumed()`` is
the truth.
"""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from suivi_common import SERVICES, events

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = events.load((ROOT / "libs/suivi_common/suivi_common/events/catalogue.toml")
                        .read_text())
SENDS = re.compile(r"emit|publish|dispatch|broadcast", re.I)  # names of calls that send one
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
SQL_OUTBOX = re.compile(r"INSERT\s+INTO\s+outbox\b.*?SELECT\s+[^,]+,\s*'([a-z0-9_]+)'",
                        re.S | re.I)


def sources() -> Iterator[tuple[str, ast.Module]]:
    """(owner, tree) of each production module; the common library's handlers are every
    service's (``service_base.PlatformService``)."""
    for base in ("services", "gateway", "libs/suivi_common/suivi_common"):
        for path in sorted((ROOT / base).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if {"tests", "migrations", "testing"} & set(parts) or path.name == "testing.py":
                continue
            owner = parts[1] if parts[0] == "services" else parts[0]
            yield ("*" if owner == "libs" else owner), ast.parse(path.read_text())


def literal_names(node: ast.AST) -> set[str]:
    """The event names an expression can be: a literal, or a choice of literals."""
    if isinstance(node, ast.IfExp):
        return literal_names(node.body) | literal_names(node.orelse)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.match(node.value):
        return {node.value}
    return set()


def assigned(tree: ast.Module) -> dict[str, set[str]]:
    """``name = "x"`` (or a choice of literals) anywhere in a module."""
    out: dict[str, set[str]] = defaultdict(set)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] |= literal_names(node.value)
    return out


def resolved(arg: ast.AST, names: dict[str, set[str]], constants: dict[str, set[str]]) -> str:
    """The one string a handler's argument names: a literal, or a constant of this module
    or another (``usecases.LINKED``)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    key = arg.id if isinstance(arg, ast.Name) else getattr(arg, "attr", "")
    values = names.get(key) or constants.get(key, set())
    assert len(values) == 1, f"cannot tell which event {ast.dump(arg)} names"
    return next(iter(values))


def scan() -> tuple[dict[str, set[str]], dict[str, set[tuple[str, str, bool]]]]:
    """``emitted[event] = {owner}``, ``consumed[event] = {(consumer, source, broadcast)}``."""
    modules = [(owner, tree, assigned(tree)) for owner, tree in sources()]
    constants = defaultdict(set)  # UPPER_CASE ones, imported from another module
    for _, _, names in modules:
        for name, values in names.items():
            if name.isupper():
                constants[name] |= values
    emitted: dict[str, set[str]] = defaultdict(set)
    consumed: dict[str, set[tuple[str, str, bool]]] = defaultdict(set)
    for owner, tree, names in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for event in SQL_OUTBOX.findall(node.value):
                    emitted[event].add(owner)
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("reliable_handler", "event_handler", "forwarding_handler"):
                source, event = (resolved(a, names, constants) for a in node.args[:2])
                broadcast = any(k.arg == "handler_type" for k in node.keywords)
                for consumer in (SERVICES if owner == "*" else (owner,)):
                    consumed[event].add((consumer, source, broadcast))
            elif SENDS.search(called):
                for arg in node.args:
                    if isinstance(arg, ast.Name):  # a constant of this module or imported
                        named = names.get(arg.id) or constants.get(arg.id, set())
                    elif isinstance(arg, ast.Attribute) and arg.attr.isupper():  # rules.EVENT
                        named = constants.get(arg.attr, set())
                    else:
                        named = set()
                    sent = literal_names(arg) | named
                    for event in sent:
                        emitted[event].add(owner)
    return emitted, consumed


EMITTED, CONSUMED = scan()


def test_the_scan_finds_every_kind_of_emitter_and_consumer() -> None:
    """A guard on the scan itself: literals, constants, plans' snapshots, SQL, broadcasts."""
    for event in ("payment_validated", "dsr_task_requested", "lead_email_due", "plan_completed",
                  "plan_changed", "lead_delivered", "clock_set", "google_linked"):
        assert EMITTED.get(event), event
    assert ("compliance", "gateway", True) in CONSUMED["clock_set"]


@pytest.mark.parametrize("event", sorted(set(EMITTED) | set(CONSUMED)))
def test_every_event_sent_or_handled_is_declared(event: str) -> None:
    assert event in CATALOGUE, f"{event} is not declared in suivi_common/events/catalogue.toml"


@pytest.mark.parametrize("event", sorted(CATALOGUE))
def test_the_catalogue_names_its_emitters_and_consumers_truly(event: str) -> None:
    entry = CATALOGUE[event]
    emitters = EMITTED.get(event, set()) - {"*"}
    if entry.emitted:
        assert emitters == set(entry.emitted_by) - set(entry.pending), "emitted_by"
    else:
        assert not emitters, f"{event} is emitted now: drop its emitted = false"
    handlers = CONSUMED.get(event, set())
    assert {c for c, _, _ in handlers} == set(entry.consumed_by), "consumed_by"
    assert {s for _, s, _ in handlers} <= set(entry.emitted_by), "a handler's source"
    assert {b for _, _, b in handlers} <= {entry.broadcast}, "broadcast"
    assert entry.doc.strip()
