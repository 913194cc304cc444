"""OpenAPI 3 document generated from the routes' marshmallow schemas (apispec).

Each operation documents the statuses it can really answer, derived from its declaration
(``statuses``) plus what the route adds (``api(errors=...)``), so an outside test suite
(schemathesis, ``tests/e2e/test_schemathesis.py``) can hold the API to it. Dev-only routes
are left out outside dev, where they do not exist.
"""
from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway.http import ROUTES, RouteSpec
from gateway.schemas.common import NoControlCharacters, Url
from suivi_common.settings import is_dev

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object"}, "error_id": {"type": "string"},
        # permission_denied: the access-level permission missing (suivi_common.permissions)
        "permission": {"type": "string"}}}},
}
ERROR_DESCRIPTIONS = {
    400: "Invalid input: malformed JSON, a field that fails validation (named in `fields`)",
    401: "Authentication required or refused",
    403: "Not allowed: role, terms not accepted, a refused access, or `permission_denied` "
         "(the access level lacks `permission`)",
    404: "No such object (another user's is a 404 too), or no such route",
    409: "Conflicts with the object's current state",
    413: "Request body too large",
    415: "The content's type is not accepted (judged from its bytes)",
    414: "Request line too long",
    429: "Too many attempts; wait `Retry-After` seconds",
    503: "A service is unavailable; retry after `Retry-After` seconds",
    504: "A service did not answer in time",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
#: Routes that call no service.
LOCAL = {"/openapi.json"}
#: What ``Text`` accepts, as JSON Schema patterns (no control characters; free text may hold
#: tab and line breaks), so generated clients and test suites know it.
SINGLE_LINE_PATTERN = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
MULTILINE_PATTERN = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"


#: The http(s) URLs a ``Url`` field takes, simply spelled ("url" is no JSON Schema format).
URL_PATTERN = ("^https?://([a-z0-9]{1,30}\\.){0,4}[a-z][a-z0-9]{1,29}(:[1-9][0-9]{0,3})?"
               "(/[A-Za-z0-9._~%-]{0,40}){0,5}$")


def text_pattern(converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: a string field that refuses control characters says so with
    a pattern, unless it has a stricter one; a URL field says which URLs it takes."""
    if isinstance(field, Url):
        ret.pop("format", None)
        return {"pattern": URL_PATTERN}
    if isinstance(field, NoControlCharacters) and "pattern" not in ret:
        return {"pattern": MULTILINE_PATTERN if field.multiline else SINGLE_LINE_PATTERN}
    return {}


def _openapi_path(path: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path)


def statuses(route: RouteSpec) -> set[int]:
    """The error statuses ``route`` can answer.

    400: it reads a body, a query or path parameters. 401, 403: it needs a principal.
    404: a path parameter names an object, or the principal's own object may be missing.
    409: it is a command (not GET). 413: it reads a body. 414: its URL carries parameters.
    503, 504: it calls a service. Plus the route's own ``errors``.
    """
    has_path = "<" in route.path
    takes_body = route.body is not None or route.raw_body or route.request_body is not None
    found: set[int] = set(route.errors)
    if takes_body or route.query is not None or has_path:
        found.add(400)
    if route.auth is not None:
        found |= {401, 403, 404}
    if has_path:
        found.add(404)
    if route.method != "GET":
        found.add(409)
    if takes_body:
        found.add(413)
    if route.query is not None or has_path:
        found.add(414)
    if route.path not in LOCAL:
        found |= {503, 504}
    return found


def _error_response(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": ERROR_DESCRIPTIONS.get(code, "Error"), "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if code in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def build() -> dict[str, Any]:
    marshmallow = MarshmallowPlugin()
    spec = APISpec(title="Suivi API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[marshmallow])
    assert marshmallow.converter is not None
    marshmallow.converter.add_attribute_function(text_pattern)
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("captureKey", {"type": "apiKey", "in": "header",
                                                   "name": "X-Capture-Key"})
    paths: dict[str, dict[str, Any]] = {}
    dev = is_dev()
    for route in ROUTES:
        if route.dev_only and not dev:
            continue
        path = _openapi_path(route.path)
        op: dict[str, Any] = {"operationId": route.name, "summary": route.summary or route.path,
                              "tags": route.tags or ["misc"], "responses": {},
                              # who may call it: "none" (anonymous), "any" principal, or roles
                              "x-auth": route.auth or "none", "x-roles": list(route.roles)}
        params = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "string", "minLength": 1, "pattern": SINGLE_LINE_PATTERN}}
                  for name in re.findall(r"{([^}]+)}", path)]
        if route.query is not None:
            params.append({"in": "query", "schema": route.query})
        if params:
            op["parameters"] = params
        if route.body is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": route.body}}}
        elif route.request_body is not None:
            op["requestBody"] = route.request_body
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
        for code in sorted(statuses(route)):
            op["responses"][str(code)] = _error_response(code)
        if route.auth is not None:
            op["security"] = [{"bearer": []}]
        elif route.path == "/api/capture/leads":
            op["security"] = [{"captureKey": []}]
        paths.setdefault(path, {})[route.method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
