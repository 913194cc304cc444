"""The gateway's HTTP hardening, without a server: JSON bodies that are too deep or carry
what no service can store, unknown routes, the headers of every response, request ids."""
from __future__ import annotations

import json

import pytest
from nameko import config
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from gateway.http import (
    MAX_JSON_DEPTH,
    finish,
    parse_json,
    request_id_of,
    routing_error,
    security_headers,
)
from suivi_common.errors import Invalid


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_nesting_up_to_the_limit_is_fine_and_deeper_is_a_400() -> None:
    assert parse_json(nested(MAX_JSON_DEPTH)) is not None
    with pytest.raises(Invalid) as err:
        parse_json(nested(MAX_JSON_DEPTH + 1))
    assert err.value.code == "json_too_deep"


def test_nesting_that_would_overflow_the_parser_is_a_400_too() -> None:
    with pytest.raises(Invalid) as err:
        parse_json(nested(200_000))
    assert err.value.code == "json_too_deep"
    with pytest.raises(Invalid):
        parse_json(b'{"a": ' * 5000 + b"1" + b"}" * 5000)


@pytest.mark.parametrize("raw", [b'{"n": NaN}', b'{"n": Infinity}', b'[-Infinity]',
                                 b'{"s": "\\ud800"}', b'{"\\udfff": 1}', b'{"n": 1' + b"0" * 5000 + b"}"])
def test_what_no_service_can_store_or_forward_is_malformed(raw: bytes) -> None:
    with pytest.raises(Invalid) as err:
        parse_json(raw)
    assert err.value.code == "malformed_json"


def request(method: str = "GET", path: str = "/api/nope", **headers: str) -> Request:
    return Request(EnvironBuilder(method=method, path=path, headers=headers).get_environ())


def test_an_unknown_route_is_our_json_404() -> None:
    response = routing_error(request(), NotFound())
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert json.loads(response.get_data())["error"]["code"] == "route_not_found"


def test_an_unknown_method_is_our_json_405_with_allow() -> None:
    response = routing_error(request("DELETE", "/api/me"),
                             MethodNotAllowed(valid_methods=["GET", "PATCH"]))
    assert response.status_code == 405 and response.headers["Allow"] == "GET, PATCH"
    assert json.loads(response.get_data())["error"]["code"] == "method_not_allowed"


def test_every_response_gets_the_security_headers() -> None:
    with config.patch({"PUBLIC_URL": "http://127.0.0.1:8000"}):
        response = finish(request(), Response("x", headers={"Cache-Control": "max-age=600"}))
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["X-Request-Id"]


def test_hsts_only_when_the_public_url_is_https() -> None:
    with config.patch({"PUBLIC_URL": "https://suivi.example.com"}):
        assert security_headers()["Strict-Transport-Security"].startswith("max-age=")
    with config.patch({"PUBLIC_URL": "http://suivi.example.com"}):
        assert "Strict-Transport-Security" not in security_headers()


@pytest.mark.parametrize("given, kept", [("req-42.a:b_c", True), ("x" * 64, True),
                                         ("x" * 65, False), ("a b", False), ("é", False),
                                         ("a\x01", False)])
def test_a_client_request_id_is_echoed_only_when_it_is_a_plain_token(given: str, kept: bool) -> None:
    rid = request_id_of(request(**{"X-Request-Id": given}))
    assert (rid == given) is kept and 1 <= len(rid) <= 64
