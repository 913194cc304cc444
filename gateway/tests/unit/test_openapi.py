"""The OpenAPI document: every operation documents the statuses it can answer, dev-only
routes exist only in dev, operation ids are unique."""
from __future__ import annotations

from typing import Any

from nameko import config

import gateway.service  # noqa: F401  (registers every route)
from gateway.openapi import build


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{method.upper()} {path}": op for path, ops in doc["paths"].items()
            for method, op in ops.items()}


def documented(doc: dict[str, Any], name: str) -> set[int]:
    return {int(code) for code in operations(doc)[name]["responses"]}


def test_the_dev_clock_exists_only_in_dev() -> None:
    with config.patch({"SUIVI_ENV": "dev"}):
        assert "/api/dev/clock" in build()["paths"]
    with config.patch({"SUIVI_ENV": "prod"}):
        assert "/api/dev/clock" not in build()["paths"]


def test_statuses_follow_what_each_route_does() -> None:
    doc = build()
    assert documented(doc, "POST /api/auth/login") == {200, 400, 401, 403, 409, 413, 429, 503, 504}
    assert documented(doc, "GET /api/me") == {200, 401, 403, 404, 503, 504}
    assert documented(doc, "GET /api/leads/{lead_id}") == {200, 400, 401, 403, 404, 414, 503, 504}
    assert documented(doc, "POST /api/capture/leads") >= {401, 413, 503}
    assert documented(doc, "GET /openapi.json") == {200}


def test_every_error_response_is_the_json_error_and_retry_after_is_documented() -> None:
    for name, op in operations(build()).items():
        for code, response in op["responses"].items():
            if int(code) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, name
            if code in ("429", "503"):
                assert "Retry-After" in response["headers"], name


def test_operation_ids_are_unique_and_say_who_may_call() -> None:
    ops = operations(build())
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert ops["POST /api/networks"]["x-roles"] == ["staff"]
    assert ops["POST /api/auth/login"]["x-auth"] == "none"
    assert ops["POST /api/capture/leads"]["security"] == [{"captureKey": []}]


def test_text_fields_document_that_control_characters_are_refused() -> None:
    schemas = build()["components"]["schemas"]
    assert "pattern" in schemas["CaptureSiteIn"]["properties"]["name"]
    assert schemas["NoteIn"]["properties"]["text"]["pattern"] != \
        schemas["CaptureSiteIn"]["properties"]["name"]["pattern"]
