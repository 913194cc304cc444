"""The plans page's form rules that need no platform: the quote form's fields reach
``QuoteIn`` as the JSON route gets them, and a refused quote's message is always shown
(beside a field of the form, or at the top)."""
from __future__ import annotations

from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.web.http import Page
from gateway.web.routes.plans import quote_fields, shown_errors
from suivi_common.errors import Invalid


def page_with(form: dict[str, str]) -> Page:
    request = Request(EnvironBuilder(method="POST", path="/web/plans/quote",
                                     data=form).get_environ())
    return Page(request, None, None, "fr", "x")


def test_the_quote_form_is_the_json_routes_body() -> None:
    fields: dict[str, Any] = quote_fields(page_with({"records": " 60 ", "tier": "standard",
                                                     "country": "fr"}))
    assert fields == {"records": 60, "tier": "standard", "country": "FR"}
    # not a number: passed on as typed, for the strict schema to refuse with its message
    assert quote_fields(page_with({"records": "lots"}))["records"] == "lots"


def test_a_refused_quote_is_shown_beside_its_field_or_at_the_top() -> None:
    beside = shown_errors(Invalid("bad", fields={"country": ["not open"]}))
    assert beside == {"country": "not open"}
    other = shown_errors(Invalid("bad", fields={"records_total": "too many"}))
    assert other["_top"] == "too many"
    assert shown_errors(Invalid("No sale today"))["_top"] == "No sale today"
