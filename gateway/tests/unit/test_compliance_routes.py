"""Every ``/api/compliance/*`` route is for the compliance role alone: platform staff, a
different role, is refused (403) like any member."""
from __future__ import annotations

import gateway.service  # noqa: F401  (registers every route)
from gateway.http import ROUTES


def test_compliance_routes_admit_the_compliance_role_only() -> None:
    routes = [r for r in ROUTES if r.path.startswith("/api/compliance/")]
    assert routes, "no compliance route registered"
    for route in routes:
        assert route.auth is not None and route.roles == ("compliance",), route.path
