"""Text fields: a control character anywhere a client sends a string is a 400 naming the
field, once for every schema (``gateway.schemas.common.Text``)."""
from __future__ import annotations

from typing import Any

import pytest
from marshmallow import Schema, fields

import gateway.service  # noqa: F401  (registers every route)
from gateway.http import ROUTES, _check_path_values, _load
from gateway.schemas.accounts import LoginIn, NetworkCreateIn
from gateway.schemas.common import NoControlCharacters, Text
from gateway.schemas.leads import CaptureSiteIn
from gateway.schemas.office import LeadListQuery, NoteIn, PipelineIn
from suivi_common.errors import Invalid

CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u009f", "\ud800"]


def strings_of(schema: Schema, where: str = "") -> list[tuple[str, fields.Field]]:
    """Every string-typed field a schema reads, nested, listed and dict keys included."""
    found: list[tuple[str, fields.Field]] = []

    def visit(name: str, field: fields.Field) -> None:
        if isinstance(field, fields.Nested):
            nested = field.schema
            found.extend(strings_of(nested, name + "."))
        elif isinstance(field, fields.List):
            visit(name + "[]", field.inner)
        elif isinstance(field, fields.Dict):
            for part, inner in (("{key}", field.key_field), ("{value}", field.value_field)):
                if inner is not None:
                    visit(name + part, inner)
        elif isinstance(field, fields.String):
            found.append((name, field))

    for name, field in schema.fields.items():
        visit(where + name, field)
    return found


def input_schemas() -> list[type[Schema]]:
    return sorted({s for r in ROUTES for s in (r.body, r.query) if s is not None},
                  key=lambda s: s.__name__)


@pytest.mark.parametrize("schema_cls", input_schemas(), ids=lambda s: s.__name__)
def test_every_string_a_client_sends_is_read_through_text(schema_cls: type[Schema]) -> None:
    plain = [name for name, field in strings_of(schema_cls())
             if not isinstance(field, NoControlCharacters)]
    assert not plain, f"use gateway.schemas.common.Text (Email, Url) for {plain}"


@pytest.mark.parametrize("char", CONTROLS)
def test_a_control_character_is_a_400_naming_the_field(char: str) -> None:
    with pytest.raises(Invalid) as err:
        _load(CaptureSiteIn, {"name": f"a{char}b", "url": "https://capture.example"}, "body")
    assert err.value.status == 400
    assert set(err.value.fields or {}) == {"name"}


def test_nested_list_and_query_fields_are_named_where_they_are() -> None:
    with pytest.raises(Invalid) as err:
        _load(NetworkCreateIn, {"name": "Nord", "admin": {"email": "a@b.fr", "first_name": "A\x00",
                                                          "last_name": "B"}}, "body")
    assert err.value.fields == {"admin": {"first_name": ["Control characters are not allowed."]}}
    with pytest.raises(Invalid) as err:
        _load(PipelineIn, {"statuses": ["new", "x\x00"], "initial": "new"}, "body")
    assert "statuses" in (err.value.fields or {})
    with pytest.raises(Invalid) as err:
        _load(LeadListQuery, {"city": "Lyon\x00"}, "query")
    assert set(err.value.fields or {}) == {"city"}


def test_email_and_url_formats_refuse_control_characters_too() -> None:
    with pytest.raises(Invalid) as err:
        _load(LoginIn, {"email": "a\x00b@example.org", "password": "x"}, "body")
    assert set(err.value.fields or {}) == {"email"}
    with pytest.raises(Invalid) as err:
        _load(CaptureSiteIn, {"name": "Site", "url": "https://capture.example/\x00"}, "body")
    assert set(err.value.fields or {}) == {"url"}


def test_free_text_keeps_tab_and_line_breaks_and_nothing_else() -> None:
    note = "Called at 10:00\r\n\tshe will call back.\nMonday"
    assert _load(NoteIn, {"text": note}, "body") == {"text": note}
    with pytest.raises(Invalid) as err:
        _load(NoteIn, {"text": "bell\x07"}, "body")
    assert err.value.fields == {"text": [
        "Control characters other than tab and line breaks are not allowed."]}


@pytest.mark.parametrize("value", ["Martin\nDurand", "tab\there"])
def test_single_line_fields_refuse_line_breaks_and_tabs(value: str) -> None:
    with pytest.raises(Invalid):
        _load(CaptureSiteIn, {"name": value, "url": "https://capture.example"}, "body")


def test_path_parameters_are_checked_too() -> None:
    with pytest.raises(Invalid) as err:
        _check_path_values({"lead_id": "a\x00b", "member_id": "fine"})
    assert set(err.value.fields or {}) == {"lead_id"}
    _check_path_values({"lead_id": "3f1c", "n": 3})


def test_text_is_still_a_string_field() -> None:
    field: Any = Text(required=True)
    assert isinstance(field, fields.String)
