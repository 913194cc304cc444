"""Shapes shared by every area: text fields, paging, ids.

Every string a client sends is read through ``Text`` (or ``Email``, ``Url``: ``fields.Str``
is not used in this package; ``gateway/tests/unit/test_text_fields.py`` checks every input
schema): a control character or a
lone surrogate in a name, an id or a query parameter is a 400 that names the field, instead
of reaching a service that cannot store it (PostgreSQL refuses NUL) or an export, a log or an
email that would carry it. Free text (notes, comments, descriptions) is ``Text(multiline=True)``:
tab and line breaks (LF, CR) are allowed there, and nothing else.
"""
import re
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields, validate

MAX_PAGE = 500

# C0 and C1 controls, DEL, and lone surrogates (only a JSON "\ud800" escape produces them).
SINGLE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MULTILINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_characters(text: str, multiline: bool = False) -> bool:
    pattern = MULTILINE_FORBIDDEN if multiline else SINGLE_LINE_FORBIDDEN
    return pattern.search(text) is not None


class NoControlCharacters(fields.String):
    """A string field that refuses control characters (see the module's docstring)."""

    default_error_messages = {
        "control": "Control characters are not allowed.",
        "control_multiline": "Control characters other than tab and line breaks are not allowed.",
    }
    multiline = False

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if has_control_characters(text, self.multiline):
            raise self.make_error("control_multiline" if self.multiline else "control")
        return text


class Text(NoControlCharacters):
    """A text field; ``multiline=True`` for free text."""

    def __init__(self, *args: Any, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multiline = multiline


class Email(NoControlCharacters, fields.Email):
    pass


class Url(NoControlCharacters, fields.Url):
    pass


class PageQuery(Schema):
    cursor = Text(validate=validate.Length(max=200))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


def page_args(query: Mapping[str, Any]) -> tuple[str | None, int]:
    """``(cursor, limit)`` of a ``PageQuery``, the last arguments of a list RPC."""
    return query.get("cursor"), query["limit"]


def page_of(item_schema: type[Schema], name: str | None = None,
            **extra: fields.Field) -> type[Schema]:
    """A ``{items, next_cursor}`` envelope around ``item_schema`` (then ``extra`` fields),
    named ``name`` in the OpenAPI document (by default ``<item>Page``)."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "next_cursor": Text(allow_none=True),
        **extra,
    }, name=name or f"{item_schema.__name__.removesuffix('Out')}Page")


class PaymentSummaryOut(Schema):
    """A payment as every area shows it (staff and billing add its order and refund)."""

    id = Text()
    method = Text()
    status = Text()
    amount_cents = fields.Int()
    redirect_url = Text(allow_none=True)


class DeletedOut(Schema):
    """What a DELETE of one object answers."""

    id = Text()
    deleted = fields.Bool()


class Ok(Schema):
    ok = fields.Bool()
