"""The gateway's error contract: typed errors map to statuses with a JSON body; an
unexpected error is a 500 with an error id that is also logged, and no stack trace."""
from __future__ import annotations

import json
import logging

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.http import ApiEndpoint, _json_body, _load
from gateway.schemas.accounts import LoginIn
from suivi_common.errors import Conflict, Invalid, NotFound, RateLimited


def endpoint() -> ApiEndpoint:
    return ApiEndpoint("GET", "/x")


@pytest.mark.parametrize("exc, status, code", [
    (NotFound(), 404, "not_found"), (Conflict("twice", code="tier_change_daily_limit"), 409,
                                     "tier_change_daily_limit"),
    (Invalid("bad", fields={"records": ["too many"]}), 400, "invalid"),
])
def test_typed_errors_become_json(exc: Exception, status: int, code: str) -> None:
    resp = endpoint().response_from_exception(exc, "rid")
    body = json.loads(resp.get_data())
    assert resp.status_code == status and body["error"]["code"] == code
    assert resp.mimetype == "application/json"


def test_rate_limited_sets_retry_after() -> None:
    resp = endpoint().response_from_exception(RateLimited("slow", retry_after=30), "rid")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "30"


def test_unexpected_error_is_500_with_logged_error_id_and_no_trace(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="gateway.http"):
        resp = endpoint().response_from_exception(KeyError("secret_internal_detail"), "req-42")
    body = json.loads(resp.get_data())
    assert resp.status_code == 500
    assert body["error"]["error_id"] == "req-42"
    assert "secret_internal_detail" not in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)
    assert any(getattr(r, "error_id", None) == "req-42" for r in caplog.records)


def request_with(body: bytes) -> Request:
    return Request(EnvironBuilder(method="POST", data=body,
                                  content_type="application/json").get_environ())


@pytest.mark.parametrize("raw", [b"{oops", b"\xff\xfe", b'{"a":'])
def test_malformed_json_is_a_400(raw: bytes) -> None:
    with pytest.raises(Invalid) as err:
        _json_body(request_with(raw))
    assert err.value.code == "malformed_json"


def test_schema_errors_name_each_field() -> None:
    with pytest.raises(Invalid) as err:
        _load(LoginIn, {"email": "nope", "password": 3, "extra": True}, "body")
    assert set(err.value.fields) == {"email", "password", "extra"}
    with pytest.raises(Invalid):
        _load(LoginIn, [1, 2], "body")


def test_a_service_that_is_down_is_a_503_not_a_500() -> None:
    from nameko.exceptions import UnknownService

    resp = endpoint().response_from_exception(UnknownService("plans"), "rid")
    assert resp.status_code == 503
    assert json.loads(resp.get_data())["error"]["code"] == "service_unavailable"
