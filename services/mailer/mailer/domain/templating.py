"""Email templates to leads: Jinja2 in its sandbox, with a closed list of placeholders.

An admin writes the template (admin tool 2); a distributor's lead receives it. So a
template may only say what the list below allows, and is checked *when it is saved*:

* it is parsed, and its syntax tree is walked against an allowlist of constructs: text,
  ``{{ placeholder }}``, a few harmless filters (``upper``, ``default("...")``...) and
  ``{% if %}`` on placeholders. Anything else (loops, ``set``, macros, calls, item access,
  arithmetic, includes) is refused, so a template cannot reach any attribute outside the
  list, nor make rendering cost more than its length;
* a syntax error or an unknown placeholder is an ``Invalid`` naming the field and the line.

Rendering uses ``SandboxedEnvironment`` anyway (defence in depth), with autoescape for the
HTML body only. Values are plain strings, one line each (``clean``): a lead's name cannot add
lines or headers. Pure functions: no I/O, no clock.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from suivi_common.errors import Invalid

#: The placeholders a template may use: ``{{ lead.first_name }}`` ... ``{{ unsubscribe_url }}``.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "lead": ("first_name", "last_name", "city"),
    "user": ("first_name", "last_name", "phone", "email"),
    "network": ("name",),
}
PLAIN_PLACEHOLDERS = ("unsubscribe_url",)
#: Filters that only reshape a string (``default`` takes a constant).
FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "default", "d"})
MAX_VALUE = 300

SAMPLE_LEAD = {"first_name": "Camille", "last_name": "Dupont", "city": "Lyon"}


def allowed_names() -> list[str]:
    return [f"{top}.{attr}" for top, attrs in PLACEHOLDERS.items() for attr in attrs] + list(
        PLAIN_PLACEHOLDERS)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True)
class Source:
    """A template's three parts, as saved (``html`` optional)."""

    subject: str
    text: str
    html: str | None = None

    def parts(self) -> dict[str, str]:
        found = {"subject": self.subject, "body_text": self.text}
        if self.html:
            found["body_html"] = self.html
        return found


_TEXT = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML = SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)


class _Refusal(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _describe(node: nodes.Node) -> str:
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        return f"{node.node.name}.{node.attr}"
    if isinstance(node, nodes.Name):
        return node.name
    return type(node).__name__


def _check_expr(node: nodes.Node) -> None:
    line = getattr(node, "lineno", 1) or 1
    if isinstance(node, nodes.Const):
        if not isinstance(node.value, str | int | float | bool) and node.value is not None:
            raise _Refusal(line, "only text and numbers may be written as constants")
        return
    if isinstance(node, nodes.TemplateData):
        return
    if isinstance(node, nodes.Name):
        if node.name in PLAIN_PLACEHOLDERS:
            return
        if node.name in PLACEHOLDERS:
            raise _Refusal(line, f"{node.name} is not a placeholder by itself: use one of "
                                 + ", ".join(f"{node.name}.{a}" for a in PLACEHOLDERS[node.name]))
        raise _Refusal(line, f"unknown placeholder {node.name}")
    if isinstance(node, nodes.Getattr):
        if (isinstance(node.node, nodes.Name) and node.node.name in PLACEHOLDERS
                and node.attr in PLACEHOLDERS[node.node.name]):
            return
        raise _Refusal(line, f"unknown placeholder {_describe(node)}")
    if isinstance(node, nodes.Filter):
        if node.name not in FILTERS:
            raise _Refusal(line, f"the filter {node.name} is not allowed")
        if node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise _Refusal(line, f"the filter {node.name} takes constants only")
        if any(not isinstance(a, nodes.Const) for a in node.args):
            raise _Refusal(line, f"the filter {node.name} takes constants only")
        if node.node is not None:
            _check_expr(node.node)
        return
    if isinstance(node, nodes.Not):
        _check_expr(node.node)
        return
    if isinstance(node, nodes.And | nodes.Or):
        _check_expr(node.left)
        _check_expr(node.right)
        return
    if isinstance(node, nodes.CondExpr):
        for part in (node.test, node.expr1, node.expr2):
            if part is not None:
                _check_expr(part)
        return
    if isinstance(node, nodes.Concat):
        for part in node.nodes:
            _check_expr(part)
        return
    if isinstance(node, nodes.Compare):
        _check_expr(node.expr)
        for op in node.ops:
            if op.op not in ("eq", "ne"):
                raise _Refusal(line, "only == and != comparisons are allowed")
            _check_expr(op.expr)
        return
    if isinstance(node, nodes.Getitem):
        raise _Refusal(line, "write placeholders as lead.first_name, not with brackets")
    if isinstance(node, nodes.Call):
        raise _Refusal(line, "calls are not allowed in a template")
    raise _Refusal(line, f"this expression is not allowed ({type(node).__name__})")


def _check_stmt(node: nodes.Node) -> None:
    line = getattr(node, "lineno", 1) or 1
    if isinstance(node, nodes.Output):
        for part in node.nodes:
            _check_expr(part)
        return
    if isinstance(node, nodes.If):
        _check_expr(node.test)
        for child in (*node.body, *node.elif_, *node.else_):
            _check_stmt(child)
        return
    tags: dict[type[nodes.Node], str] = {
           nodes.For: "for", nodes.Macro: "macro", nodes.Assign: "set", nodes.AssignBlock: "set",
           nodes.Include: "include", nodes.Extends: "extends", nodes.Import: "import",
           nodes.FromImport: "import", nodes.Block: "block", nodes.With: "with",
           nodes.FilterBlock: "filter", nodes.CallBlock: "call"}
    tag = tags.get(type(node))
    if tag:
        raise _Refusal(line, f"{{% {tag} %}} is not allowed in a template")
    raise _Refusal(line, f"this construct is not allowed ({type(node).__name__})")


def problem(source: str, html: bool = False) -> str | None:
    """Why this template text cannot be saved (``"line 3: ..."``), or None."""
    env = _HTML if html else _TEXT
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return f"line {exc.lineno}: syntax error: {exc.message}"
    try:
        for node in tree.body:
            _check_stmt(node)
    except _Refusal as refusal:
        return f"line {refusal.line}: {refusal.message}"
    return None


def check(source: Source) -> None:
    """Refuse, naming each field and line, a template that uses anything not allowed."""
    fields = {}
    for field, text in source.parts().items():
        found = problem(text, html=field == "body_html")
        if found:
            fields[field] = found
    if fields:
        raise Invalid("The template uses something that is not allowed; allowed placeholders: "
                      + ", ".join(allowed_names()), fields=fields, code="template_invalid")


def clean(value: Any) -> str:
    """A placeholder's value: text, one line, no control characters, bounded."""
    if value is None:
        return ""
    text = str(value)
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:MAX_VALUE]


def context(lead: Mapping[str, Any], user: Mapping[str, Any], network_name: str | None,
            unsubscribe_url: str) -> dict[str, Any]:
    """The values a template sees: exactly the placeholders, as plain strings."""
    sources = {"lead": lead, "user": user, "network": {"name": network_name}}
    values: dict[str, Any] = {top: {attr: clean(sources[top].get(attr)) for attr in attrs}
                              for top, attrs in PLACEHOLDERS.items()}
    values["unsubscribe_url"] = unsubscribe_url
    return values


#: Compiled templates kept (each part of a template is one entry): a network's templates
#: and automations, many times over, in a few hundred kilobytes.
COMPILED_CACHE_SIZE = 512


@functools.lru_cache(maxsize=COMPILED_CACHE_SIZE)
def compiled(source: str, html: bool = False) -> Template:
    """``source`` compiled, once per process. Keyed by the source text itself (and the
    escaping), so an edited template is a new key, never a stale one: compiling costs
    1.4-1.9 ms a template, rendering a compiled one 0.02 ms (BENCHMARKS.md). A compiled
    template holds no values: renders share it safely."""
    return (_HTML if html else _TEXT).from_string(source)


def render(source: Source, values: Mapping[str, Any]) -> Rendered:
    """The email's subject (one line), text and HTML bodies. ``source`` was ``check``-ed."""
    subject = " ".join(compiled(source.subject).render(values).split())
    text = compiled(source.text).render(values)
    html = compiled(source.html, html=True).render(values) if source.html else None
    return Rendered(subject=subject[:500], text=text, html=html)
