"""The gateway's HTTP entrypoint: JSON in, JSON out, typed errors, no stack traces.

``api(method, path, ...)`` wraps a route so that every request is parsed and validated
through marshmallow schemas, authenticated and authorised in one place, and every
failure becomes ``{"error": {"code", "message", "fields"?}}`` with the right status.
Each route is recorded in ``ROUTES`` so ``/openapi.json`` covers every endpoint.

The WSGI application in front of the routes (``ApiWsgiApp``) answers an unknown path or
method with the same JSON error (404, 405) instead of Werkzeug's HTML page, and gives every
response the same headers: request id, CORS, ``Cache-Control: no-store``,
``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, and
``Strict-Transport-Security`` when ``PUBLIC_URL`` is https.

A typed refusal (a 4xx ``SuiviError``) is an expected exception of every route: the
container logs it once at INFO, in one line, without a traceback. ERROR and tracebacks are
for bugs.
"""
from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError
from nameko import config
from nameko.amqp.publish import UndeliverableMessage
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from gateway.client_ip import BadTrustedProxies, client_ip, parse_trusted_proxies
from gateway.schemas.common import has_control_characters
from suivi_common.errors import EXPECTED_ERRORS, Invalid, NotFound, SuiviError, TooLarge
from suivi_common.logs import log_context, log_refusal
from suivi_common.production import UnsafeConfiguration
from suivi_common.settings import is_dev, setting

log = logging.getLogger("gateway.http")

DEFAULT_MAX_BODY = 1024 * 1024
#: Deeper JSON than this is refused: no schema nests beyond a few levels, and a deep document
#: costs every layer that walks it (parser, validation, RPC serialisation) recursion depth.
MAX_JSON_DEPTH = 32
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


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
    errors: list[int] = field(default_factory=list)  # statuses beyond the usual (openapi)
    dev_only: bool = False
    name: str = ""  # the handler's name: the operation id
    request_body: dict[str, Any] | None = None  # an OpenAPI requestBody (a multipart form)


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
        """The client's address; ``X-Forwarded-For`` counts only through ``TRUSTED_PROXIES``
        (see ``gateway.client_ip``)."""
        return client_ip(self.http.remote_addr or "", self.http.headers.getlist("X-Forwarded-For"),
                         parse_trusted_proxies(str(setting("TRUSTED_PROXIES", "") or "")))


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload, default=str), status=status, headers=headers,
                    mimetype="application/json")


def refused(request: Request, exc: SuiviError) -> Response:
    """A refusal answered before any worker runs (no route, body too large): logged as the
    container logs a worker's, once at INFO."""
    with log_context(correlation_id=request_id_of(request)):
        log_refusal(log, f"gateway {request.method} {request.path[:200]}", exc)
    return error_response(exc)


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


def security_headers() -> dict[str, str]:
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "no-referrer"}
    if str(setting("PUBLIC_URL", "") or "").strip().lower().startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


def request_id_of(request: Request) -> str:
    """The client's ``X-Request-Id`` when it is a plain token (it is echoed and logged),
    else a new one; kept in the environ so every layer uses the same."""
    request_id = request.environ.get("suivi.request_id")
    if not request_id:
        given = request.headers.get("X-Request-Id", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.environ["suivi.request_id"] = request_id
    return str(request_id)


def finish(request: Request, response: Response) -> Response:
    """The headers every response carries (idempotent)."""
    response.headers["X-Request-Id"] = request_id_of(request)
    for key, value in cors_headers(request).items():
        response.headers.setdefault(key, value)
    for key, value in security_headers().items():
        if key == "Referrer-Policy" and key in response.headers:
            continue  # the web office's pages say same-origin: a form's Origin is then sent
        response.headers[key] = value
    return response


def route_not_found() -> NotFound:
    return NotFound("No such route", code="route_not_found")


class MethodNotAllowedError(SuiviError):
    status = 405
    default_code = "method_not_allowed"


def routing_error(request: Request, exc: HTTPException) -> Response:
    """What Werkzeug's router raised (no route for this path or method), as our JSON error."""
    if isinstance(exc, MethodNotAllowed):
        response = refused(request, MethodNotAllowedError("This route does not accept this method"))
        if exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response
    if exc.code == 404:
        return refused(request, route_not_found())
    error = SuiviError(exc.description or "Bad request", code="http_error")
    error.status = exc.code or 400
    return refused(request, error)


class ApiWsgiApp(WsgiApp):
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ, shallow=True)  # as nameko's: the route reads the body
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values  # type: ignore[attr-defined]  # as nameko's WsgiApp
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = routing_error(request, exc)
        return finish(request, response)(environ, start_response)


class ApiWebServer(WebServer):
    """nameko's web server with ``ApiWsgiApp`` in front of the routes."""

    def setup(self) -> None:
        try:  # a bad value would fail every login later: refuse to start instead
            parse_trusted_proxies(str(setting("TRUSTED_PROXIES", "") or ""))
        except BadTrustedProxies as exc:
            raise UnsafeConfiguration(f"refusing to start: {exc}") from None
        super().setup()

    def make_url_map(self) -> Map:
        # merge_slashes would answer "//api//me" with a redirect; it is simply not a route
        url_map = Map(merge_slashes=False)
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def get_wsgi_app(self) -> ApiWsgiApp:
        return ApiWsgiApp(self)


class ApiEndpoint(HttpRequestHandler):
    """An ``@http`` entrypoint that speaks JSON errors and carries a request id."""

    server = ApiWebServer()

    def __init__(self, method: str, url: str, max_body: int | None = None,
                 dev_only: bool = False, too_large_code: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("expected_exceptions", EXPECTED_ERRORS)
        super().__init__(method, url, **kwargs)
        self.max_body = max_body
        self.dev_only = dev_only
        self.too_large_code = too_large_code

    def handle_request(self, request: Request) -> Response:
        request.shallow = False  # nameko's server builds shallow requests; we read bodies
        request_id = request_id_of(request)
        if self.dev_only and not is_dev():  # outside dev the route does not exist
            response = refused(request, route_not_found())
        elif request.method == "OPTIONS":
            response = Response(status=204, headers=cors_headers(request))
        else:
            limit = self.max_body or int(config.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY))
            if request.content_length is not None and request.content_length > limit:
                response = refused(request, TooLarge(f"Request body exceeds {limit} bytes",
                                                     code=self.too_large_code))
            else:
                request.max_content_length = limit
                response = self._dispatch(request, request_id)
        return finish(request, response)

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


def _malformed(reason: str) -> Invalid:
    return Invalid("Request body is not valid JSON", fields={"body": reason},
                   code="malformed_json")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_document(document: Any) -> None:
    """Walk the parsed body once, without recursion: refuse nesting deeper than
    ``MAX_JSON_DEPTH`` and lone surrogates (a ``"\\ud800"`` escape), which no service can
    store or forward."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if LONE_SURROGATE.search(value):
                raise _malformed("lone surrogate in a string")
            continue
        if isinstance(value, dict):
            children: Any = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise Invalid(f"Request body is nested deeper than {MAX_JSON_DEPTH} levels",
                          fields={"body": f"at most {MAX_JSON_DEPTH} levels of nesting"},
                          code="json_too_deep")
        stack.extend((child, depth + 1) for child in children)


def parse_json(raw: bytes) -> Any:
    """A request body as JSON, or a 400: malformed, NaN/Infinity, too deep, bad Unicode."""
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise Invalid(f"Request body is nested deeper than {MAX_JSON_DEPTH} levels",
                      fields={"body": f"at most {MAX_JSON_DEPTH} levels of nesting"},
                      code="json_too_deep") from None
    except (ValueError, UnicodeDecodeError):
        raise _malformed("malformed JSON") from None
    _check_document(document)
    return document


def _json_body(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    return parse_json(raw)


def _check_path_values(values: dict[str, Any]) -> None:
    bad = {name: ["Control characters are not allowed."] for name, value in values.items()
           if isinstance(value, str) and has_control_characters(value)}
    if bad:
        raise Invalid("Invalid path", fields=bad)


def api(method: str, path: str, *, auth: str | None = "member", roles: tuple[str, ...] = (),
        body: type[Schema] | None = None, query: type[Schema] | None = None,
        response: type[Schema] | None = None, status: int = 200, many: bool = False,
        summary: str = "", tags: tuple[str, ...] = (), terms_gate: bool = True,
        raw_body: bool = False, max_body: int | None = None,
        content_type: str = "application/json", dev_only: bool = False,
        before_body: Callable[[Any, Request], None] | None = None,
        errors: tuple[int, ...] = (), request_body: dict[str, Any] | None = None,
        too_large_code: str | None = None, mfa_gate: bool = True) -> Callable[..., Any]:
    """Declare a JSON route.

    ``auth``: None (anonymous), "any" (any authenticated principal) or "member"
    (authenticated; users and admins must have accepted the current terms unless
    ``terms_gate`` is False). ``roles`` narrows further. Handlers get ``(self, req, **path)``
    and return a payload (dumped through ``response``) or a werkzeug ``Response``.
    ``dev_only``: outside dev the route does not exist (404, and not in ``/openapi.json``).
    ``before_body(self, request)`` runs after authentication and before the body is read
    (the capture key). ``errors``: statuses the route answers beyond those the OpenAPI
    document derives from its declaration. ``request_body``: the OpenAPI ``requestBody`` of
    a route that reads its body itself (a multipart form); ``too_large_code``: the error
    code of a body over ``max_body``. ``mfa_gate``: False for the few routes a staff or
    compliance account without its second factor may call (enrolling one, logging out).
    """
    spec = RouteSpec(method, path, summary, list(tags), auth, roles, body, query, response,
                     status, many, raw_body, content_type, list(errors), dev_only,
                     request_body=request_body)
    ROUTES.append(spec)

    def decorate(fn: Callable[..., Any]) -> Any:
        spec.name = fn.__name__

        @functools.wraps(fn)
        def route(self: Any, request: Request, **path_values: Any) -> Response:
            _check_path_values(path_values)
            principal, token = None, None
            if auth is not None:
                principal, token = self.auth.require(request, roles=roles,
                                                     terms_gate=terms_gate and auth == "member",
                                                     mfa_gate=mfa_gate)
            if before_body is not None:
                before_body(self, request)
            payload: Any
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

        return ApiEndpoint.decorator(f"{method},OPTIONS", path, max_body=max_body,
                                     dev_only=dev_only, too_large_code=too_large_code)(route)

    return decorate
