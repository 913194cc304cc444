"""The signed trust boundary against the running platform, from the point of view of
someone holding the broker URI but not ``SUIVI_PRINCIPAL_KEY``: forged, unsigned and
expired principals are anonymous, every internal RPC refuses them, and forged events
change nothing while real ones keep flowing."""
from __future__ import annotations

import inspect
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from suivi_common import principals
from suivi_common.auth import Principal
from suivi_common.errors import Forbidden, Unauthorized
from suivi_common.principals import Signer
from suivi_common.rpc import RpcClient
from suivi_common.service_base import internal_rpcs
from suivi_common.testing.messages import publish_event
from suivi_common.testing.waiting import wait_for
from tools.api_client import Api, subscribe_by_card
from tools.platform import Platform


def service_classes() -> dict[str, type]:
    from accounts.service import AccountsService
    from compliance.service import ComplianceService
    from leads.service import LeadsService
    from mailer.service import MailerService
    from plans.service import PlansService

    return {"accounts": AccountsService, "plans": PlansService, "leads": LeadsService,
            "mailer": MailerService, "compliance": ComplianceService}


def internal_calls() -> list[tuple[str, str, tuple[str, ...], list[str]]]:
    """(service, method, admitted services, placeholder args) of every ``@rpc_internal``."""
    calls = []
    for service, cls in service_classes().items():
        for method, admitted in sorted(internal_rpcs(cls).items()):
            params = list(inspect.signature(getattr(cls, method)).parameters.values())[1:]
            args = [f"x-{p.name}" for p in params if p.default is inspect.Parameter.empty]
            calls.append((service, method, admitted, args))
    return calls


INTERNAL = internal_calls()


def test_the_internal_rpcs_are_the_ones_meant_for_services() -> None:
    names = {f"{s}.{m}" for s, m, _, _ in INTERNAL}
    assert names >= {
        "accounts.authenticate", "accounts.get_user", "accounts.office_active",
        "accounts.open_countries", "accounts.admin_can_view", "accounts.network_members",
        "accounts.record_card_result", "accounts.password_link", "plans.active_entitlements",
        "leads.close_books", "leads.rekey", "leads.office_erase_lead", "leads.check_stock",
        "leads.run_auto_delivery"}


@pytest.mark.parametrize(("service", "method", "admitted", "args"), INTERNAL,
                         ids=[f"{s}.{m}" for s, m, _, _ in INTERNAL])
def test_an_unsigned_call_to_an_internal_rpc_is_refused(
        platform: Platform, service: str, method: str, admitted: tuple[str, ...],
        args: list[str]) -> None:
    uri = platform.amqp_uri
    key = platform_key(platform)
    staff = Principal("staff-" + uuid.uuid4().hex[:6], "staff")
    attempts: list[tuple[dict[str, Any], type[Exception]]] = [
        ({}, Unauthorized),                                                   # no principal
        ({"context": {"user_id": "x", "role": "service"}}, Unauthorized),    # unsigned claims
        ({"token": Signer(b"f" * 32).sign(principals.service_principal(admitted[0] if admitted
                                                                        else "plans"))},
         Unauthorized),                                                       # forged
        ({"principal": staff, "key": key}, Forbidden),                      # a (real) user
    ]
    if admitted:
        attempts.append(({"service": "compliance", "key": key}, Forbidden))  # not admitted
    for options, refusal in attempts:
        with RpcClient(uri, timeout=30, **options) as rpc, pytest.raises(refusal):
            rpc[service][method](*args)


def platform_key(platform: Platform) -> bytes:
    return principals.ensure_key_file(platform.principal_key_file)


def test_a_forged_principal_gets_none_of_another_users_leads(
        platform: Platform, make_network: Any) -> None:
    _, victim = make_network()
    subscribe_by_card(victim, "monthly")
    victim.post("/api/leads", {"first_name": "Célia", "last_name": "Secret", "country": "FR",
                               "email": f"celia.{uuid.uuid4().hex[:6]}@exemple.fr",
                               "source_url": "https://salon.example",
                               "consent_at": "2026-01-05T10:00:00+01:00"}, expect=201)
    me = victim.get("/api/me")
    who = Principal(me["id"], me["role"], me["network_id"])
    uri, key = platform.amqp_uri, platform_key(platform)
    forged = [
        {"context": who.to_context()},                                 # the old unsigned headers
        {"token": Signer(b"guessed-key-but-long-enough-32b!").sign(who)},  # a forged signature
        {"token": principals.signer(key).sign(who, issued_at=time.time() - 600)},  # expired
        {"token": "p1.e30.AAAA"},                                      # garbage
    ]
    for options in forged:
        with RpcClient(uri, **options) as rpc, pytest.raises(Unauthorized):
            rpc.leads.office_list_leads()
    # with the platform's key (the gateway's signature) the same call sees the lead: the
    # refusals above are the boundary, not a broken call
    with RpcClient(uri, principal=who, key=key) as rpc:
        items = rpc.leads.office_list_leads()["items"]
    assert [i["last_name"] for i in items] == ["Secret"]


def log_lines(platform: Platform, process: str) -> list[dict[str, Any]]:
    path = Path(platform.var_dir) / "log" / f"{process}.log"
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def test_forged_events_are_dropped_and_real_ones_flow(
        platform: Platform, staff: Api, make_network: Any) -> None:
    """A pending plan paid by transfer: ``payment_validated`` events forged on the broker
    (unsigned, signed with another key, another message's token) are dropped by plans; the
    staff's real validation then activates the plan through the same event, signed."""
    _, admin = make_network()
    admin.put("/api/network/settings", {"open_countries": ["FR"]})
    subscribe_by_card(admin, "monthly")  # accounts → leads and plans: events flow
    plan = admin.post("/api/plans", {"records": 30, "tier": "premium", "country": "FR",
                                     "payment_method": "transfer"}, expect=201)
    assert plan["status"] == "pending_payment"
    payment, me = plan["payment"], admin.get("/api/me")
    event = {"payment_id": payment["id"], "user_id": me["id"],
             "network_id": me["network_id"], "order_type": "plan", "order_id": plan["id"],
             "amount_cents": payment["amount_cents"], "method": "transfer",
             "validated_at": "2026-01-01T00:00:00+00:00"}
    header = f"nameko.{principals.PRINCIPAL_KEY}"
    intruder = Signer(b"the-intruder-key-is-32-bytes-long")
    mids = [str(uuid.uuid4()) for _ in range(3)]
    publish_event(platform.amqp_uri, "accounts", "payment_validated", event, mids[0], signed=False)
    publish_event(platform.amqp_uri, "accounts", "payment_validated", event, mids[1],
                  signed=False, headers={header: intruder.sign(
                      principals.service_principal("accounts"), principals.event_audience(mids[1]))})
    other = principals.signer(platform_key(platform)).sign(
        principals.service_principal("accounts"), principals.event_audience("another-message"))
    publish_event(platform.amqp_uri, "accounts", "payment_validated", event, mids[2],
                  signed=False, headers={header: other})

    def dropped() -> bool:
        text = " ".join(line.get("msg", "") for line in log_lines(platform, "plans-0"))
        return all(f"event {mid} accounts.payment_validated dropped" in text for mid in mids)

    wait_for(dropped, what="the three forged events dropped")
    assert admin.get(f"/api/plans/{plan['id']}")["status"] == "pending_payment"
    staff.post(f"/api/staff/payments/{payment['id']}/validate", expect=200)
    wait_for(lambda: admin.get(f"/api/plans/{plan['id']}")["status"] == "active",
             what="the plan active")
