"""OpenAPI 3 document generated from the routes' marshmallow schemas (apispec)."""
from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway.http import ROUTES

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object"}, "error_id": {"type": "string"}}}},
}


def _openapi_path(path: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path)


def build() -> dict[str, Any]:
    spec = APISpec(title="Suivi API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        path = _openapi_path(route.path)
        op: dict[str, Any] = {"summary": route.summary or route.path, "tags": route.tags or ["misc"],
                              "responses": {}}
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"{([^}]+)}", path)]
        if route.query is not None:
            params.append({"in": "query", "schema": route.query})
        if params:
            op["parameters"] = params
        if route.body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": route.body}}}
        elif route.raw_body:
            op["requestBody"] = {"content": {route.content_type: {"schema": {"type": "string",
                                                                               "format": "binary"}}}}
        ok: dict[str, Any] = {"description": "OK"}
        if route.response is not None:
            schema: Any = route.response
            if route.many:
                schema = {"type": "array", "items": route.response}
            ok["content"] = {"application/json": {"schema": schema}}
        op["responses"][str(route.status)] = ok
        for code in (400, 401, 403, 404, 409, 413, 429):
            op["responses"][str(code)] = {"description": "Error", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        if route.auth is not None:
            op["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[route.method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
