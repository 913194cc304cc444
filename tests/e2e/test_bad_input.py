"""Walk every endpoint of the OpenAPI document with malformed input: never a 500."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tools.api_client import Api
from tools.platform import DEV_STAFF

MALFORMED = [
    b"{not json",
    b"[]",
    b'{"email": 12, "password": [], "records": "many", "tier": {}, "start_date": "yesterday"}',
    b'"just a string"',
    b"\xff\xfe\x00",
    b'{"a": ' * 50 + b"1" + b"}" * 50,
]


def concrete(path: str) -> str:
    return re.sub(r"{[^}]+}", lambda _: str(uuid.uuid4()), path)


@pytest.fixture(scope="module")
def routes(base_url: str) -> list[tuple[str, str]]:
    doc = Api(base_url).get("/openapi.json")
    return [(method.upper(), path) for path, ops in doc["paths"].items() for method in ops]


def test_openapi_covers_the_api(routes: list[tuple[str, str]]) -> None:
    paths = {p for _, p in routes}
    for expected in ("/api/auth/login", "/api/me", "/api/networks", "/api/subscriptions",
                     "/api/payments/card-callback", "/api/dev/clock", "/health"):
        assert expected in paths


def test_every_endpoint_survives_malformed_bodies(base_url: str, routes: list[tuple[str, str]],
                                                 make_network: Any) -> None:
    _, admin = make_network()
    # sessions of its own: the walk calls logout and terminate too
    callers = {"anonymous": Api(base_url), "staff": Api(base_url).login(*DEV_STAFF), "admin": admin}
    failures: list[Any] = []
    for method, path in routes:
        if path.startswith("/api/dev/"):
            continue  # moving the shared clock would disturb the other tests
        for who, api in callers.items():
            for body in MALFORMED if method in ("POST", "PUT", "PATCH") else [None]:
                status, answer = api.call(method, concrete(path), data=body,
                                          headers={"Content-Type": "application/json"})
                if path == "/health":
                    continue  # a health report, 503 while a service is down
                # the public sites' pages answer a person, so their refusals are HTML pages;
                # every JSON route's refusal is a JSON error
                json_route = path.startswith("/api/")
                if status >= 500 or (status >= 400 and json_route and (
                        not isinstance(answer, dict) or "error" not in answer)):
                    failures.append((who, method, path, body, status, answer))
    assert not failures, failures[:5]


def test_oversize_body_gets_413(anon: Api) -> None:
    status, body = anon.call("POST", "/api/auth/login", data=b"x" * (2 * 1024 * 1024),
                             headers={"Content-Type": "application/json"})
    assert status == 413 and body["error"]["code"] == "payload_too_large"


def test_unknown_fields_and_wrong_types_name_the_field(anon: Api) -> None:
    status, body = anon.call("POST", "/api/auth/login", {"email": "not-an-email", "password": 5,
                                                         "extra": 1})
    assert status == 400
    fields = body["error"]["fields"]
    assert {"email", "password", "extra"} <= set(fields)
