"""List routes hand the RPC the page's cursor and limit, last (``schemas.common.page_args``)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import gateway.service  # noqa: F401  (registers every route)
from gateway.routes.compliance import ComplianceRoutes
from gateway.routes.mailer import MailerRoutes
from gateway.routes.network import NetworkRoutes
from gateway.routes.office import OfficeRoutes
from gateway.routes.plans import PlansRoutes
from gateway.routes.staff import StaffRoutes
from gateway.schemas.common import page_args


class Recorder:
    """Any service: each call answers its method name and arguments."""

    def __getattr__(self, method: str) -> Any:
        return lambda *args: (method, args)


@pytest.mark.parametrize(("route", "path_values", "expected"), [
    (PlansRoutes.list_absences, (), ("list_absences", ("c", 7))),
    (PlansRoutes.list_sales_closures, (), ("list_sales_closures", ("c", 7))),
    (StaffRoutes.list_networks, (), ("list_networks", ("c", 7))),
    (NetworkRoutes.list_members, (), ("list_members", ("c", 7))),
    (ComplianceRoutes.list_breaches, (), ("list_breaches", ("c", 7))),
    (ComplianceRoutes.breach_controllers, ("b-1",), ("breach_controllers", ("b-1", "c", 7))),
    (MailerRoutes.list_automations, (), ("list_automations", ("c", 7))),
    (OfficeRoutes.list_notes, ("l-1",), ("office_list_notes", ("l-1", "c", 7))),
    (OfficeRoutes.my_claims, (), ("refund_claims_mine", ("c", 7))),
])
def test_list_routes_pass_cursor_and_limit(route: Any, path_values: tuple[str, ...],
                                           expected: tuple[str, tuple[Any, ...]]) -> None:
    service = Recorder()
    routes = SimpleNamespace(plans=service, accounts=service, compliance=service,
                             mailer=service, leads=service)
    req = SimpleNamespace(query={"cursor": "c", "limit": 7})
    assert route.__wrapped__(routes, req, *path_values) == expected


def test_a_first_page_has_no_cursor() -> None:
    assert page_args({"limit": 50}) == (None, 50)
