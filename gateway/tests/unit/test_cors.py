"""CORS answers only configured origins."""
from __future__ import annotations

from nameko import config
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.http import cors_headers


def request_from(origin: str | None) -> Request:
    headers = {"Origin": origin} if origin else {}
    return Request(EnvironBuilder(method="OPTIONS", headers=headers).get_environ())


def test_allowed_origin_is_echoed() -> None:
    with config.patch({"CORS_ORIGINS": "https://app.suivi.fr, http://localhost:3000"}):
        headers = cors_headers(request_from("https://app.suivi.fr"))
    assert headers["Access-Control-Allow-Origin"] == "https://app.suivi.fr"
    assert "Authorization" in headers["Access-Control-Allow-Headers"]


def test_other_origins_and_no_origin_get_nothing() -> None:
    with config.patch({"CORS_ORIGINS": "https://app.suivi.fr"}):
        assert cors_headers(request_from("https://evil.example")) == {}
        assert cors_headers(request_from(None)) == {}


def test_wildcard() -> None:
    with config.patch({"CORS_ORIGINS": "*"}):
        assert cors_headers(request_from("https://any.example"))["Access-Control-Allow-Origin"] == "*"
