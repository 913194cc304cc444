"""The gateway's HTTP entrypoint: JSON in, JSON out, typed errors, no stack traces.

``api(method, path, ...)`` wraps a route so that every request is parsed and validated
through marshmallow schemas, authenticated and authorised in one place, and every
failure becomes ``{"error": {"code", "message", "fields"?}}`` with the right status.
Each route is recorded in ``ROUTES`` so ``/openapi.json`` covers every endpoint.
"""
from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError
from nameko import config
from nameko.amqp.publish import UndeliverableMessage
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from suivi_common.errors import Invalid, SuiviError, TooLarge

log = logging.getLogger("gateway.http")

DEFAULT_MAX_BODY = 1024 * 1024


@dataclass
class RouteSpec:
    method: str
    path: str
    summary: str
    tags: list[str]
    auth: str | None
    roles: tuple[str, ...]
    body: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    many: bool
    raw_body: bool
    content_type: str = "application/json"
    errors: list[int] = field(default_factory=list)


ROUTES: list[RouteSpec] = []


@dataclass
class Req:
    """What a route handler receives."""

    http: Request
    body: Any
    query: dict[str, Any]
    principal: Any
    token: str | None

    @property
    def ip(self) -> str:
        return self.http.remote_addr or ""


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload, default=str), status=status, headers=headers,
                    mimetype="application/json")


def error_response(exc: SuiviError) -> Response:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(int(exc.retry_after))
    return json_response(exc.to_body(), exc.status, headers)


def cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("Origin")
    allowed = [o.strip() for o in str(config.get("CORS_ORIGINS", "")).split(",") if o.strip()]
    if not origin or not ("*" in allowed or origin in allowed):
        return {}
    return {"Access-Control-Allow-Origin": origin if "*" not in allowed else "*",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Request-Id, X-Capture-Key",
            "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
            "Access-Control-Expose-Headers": "X-Request-Id, Retry-After", "Vary": "Origin"}


class ApiEndpoint(HttpRequestHandler):
    """An ``@http`` entrypoint that speaks JSON errors and carries a request id."""

    def __init__(self, method: str, url: str, max_body: int | None = None, **kwargs: Any) -> None:
        super().__init__(method, url, **kwargs)
        self.max_body = max_body

    def handle_request(self, request: Request) -> Response:
        request.shallow = False  # nameko's server builds shallow requests; we read bodies
        request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        if request.method == "OPTIONS":
            response = Response(status=204, headers=cors_headers(request))
        else:
            limit = self.max_body or int(config.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY))
            if request.content_length is not None and request.content_length > limit:
                response = error_response(TooLarge(f"Request body exceeds {limit} bytes"))
            else:
                request.max_content_length = limit
                request.environ["suivi.request_id"] = request_id
                response = self._dispatch(request, request_id)
        response.headers["X-Request-Id"] = request_id
        for key, value in cors_headers(request).items():
            response.headers.setdefault(key, value)
        return response

    def _dispatch(self, request: Request, request_id: str) -> Response:
        from eventlet.event import Event

        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            event = Event()
            self.container.spawn_worker(
                self, args, kwargs, context_data={"correlation_id": request_id},
                handle_result=functools.partial(self.handle_result, event))
            result = event.wait()
            return self.response_from_result(result)
        except Exception as exc:
            return self.response_from_exception(exc, request_id)

    def response_from_exception(self, exc: Exception, request_id: str = "") -> Response:  # type: ignore[override]
        if isinstance(exc, SuiviError):
            return error_response(exc)
        if isinstance(exc, HTTPException) and exc.code == 413:
            return error_response(TooLarge())
        if isinstance(exc, RpcTimeout):
            log.warning("service timeout: %s", exc)
            return json_response({"error": {"code": "service_timeout",
                                            "message": "A service did not answer in time."}}, 504)
        if isinstance(exc, (UnknownService, UndeliverableMessage)):
            log.warning("service unavailable: %s", exc)
            return json_response({"error": {"code": "service_unavailable",
                                            "message": "A service is unavailable; retry shortly."}},
                                 503, {"Retry-After": "5"})
        error_id = request_id or uuid.uuid4().hex
        log.error("unexpected error %s: %r", error_id, exc, extra={"error_id": error_id},
                  exc_info=(type(exc), exc, exc.__traceback__))
        return json_response({"error": {"code": "internal_error", "error_id": error_id,
                                        "message": "Unexpected error; quote this id to support."}},
                             500)


@functools.cache
def schema(cls: type[Schema], many: bool = False) -> Schema:
    """One instance per schema: building one deep-copies its declared fields, and a
    marshmallow 4 schema keeps no per-call state, so routes share them."""
    return cls(many=many)


def _load(schema_cls: type[Schema] | None, data: Any, where: str) -> Any:
    if schema_cls is None:
        return data
    try:
        return schema(schema_cls).load(data)
    except ValidationError as err:
        raise Invalid(f"Invalid {where}", fields=err.messages_dict if isinstance(
            err.messages, dict) else {"_schema": err.messages}) from None


def _json_body(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("Request body is not valid JSON", fields={"body": "malformed JSON"},
                      code="malformed_json") from None


def api(method: str, path: str, *, auth: str | None = "member", roles: tuple[str, ...] = (),
        body: type[Schema] | None = None, query: type[Schema] | None = None,
        response: type[Schema] | None = None, status: int = 200, many: bool = False,
        summary: str = "", tags: tuple[str, ...] = (), terms_gate: bool = True,
        raw_body: bool = False, max_body: int | None = None,
        content_type: str = "application/json") -> Callable[..., Any]:
    """Declare a JSON route.

    ``auth``: None (anonymous), "any" (any authenticated principal) or "member"
    (authenticated; users and admins must have accepted the current terms unless
    ``terms_gate`` is False). ``roles`` narrows further. Handlers get ``(self, req, **path)``
    and return a payload (dumped through ``response``) or a werkzeug ``Response``.
    """
    spec = RouteSpec(method, path, summary, list(tags), auth, roles, body, query, response,
                     status, many, raw_body, content_type)
    ROUTES.append(spec)

    def decorate(fn: Callable[..., Any]) -> Any:
        @functools.wraps(fn)
        def route(self: Any, request: Request, **path_values: Any) -> Response:
            principal, token = None, None
            if auth is not None:
                principal, token = self.auth.require(request, roles=roles,
                                                     terms_gate=terms_gate and auth == "member")
            if raw_body:
                payload = request.get_data(cache=True)
            else:
                payload = _load(body, _json_body(request), "body") if body else None
            params = _load(query, request.args.to_dict(), "query") if query else {}
            result = fn(self, Req(request, payload, params, principal, token), **path_values)
            if isinstance(result, Response):
                return result
            if response is not None and result is not None:
                result = schema(response, many).dump(result)
            if status == 204:
                return Response(status=204)
            return json_response(result, status)

        return ApiEndpoint.decorator(f"{method},OPTIONS", path, max_body=max_body)(route)

    return decorate
