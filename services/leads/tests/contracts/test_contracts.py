"""Compliance's contracts with leads (services/compliance/README.md), over the broker:
a data-subject task in and its report out, the breach count and the persons' notices,
the data map, who may call what; the retention sweep on the moved clock; bulk delete."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from leads import testing as leads_testing
from leads.models import leads, office_leads, offices
from leads.office_testing import deliver, raw_lead, user
from leads.usecases.entitlements import record_office
from leads.usecases.office import one_lead
from suivi_common import clock
from suivi_common.auth import Principal
from suivi_common.clock import PARIS
from suivi_common.errors import Forbidden, NotFound

PERSON = raw_lead(3, email="jeanne.person@example.fr")


def bought(stack: Any, owner: str, network: str, raw: dict[str, Any]) -> str:
    return deliver(stack.h, owner_id=owner, network_id=network, raw=raw)


def test_an_erasure_task_is_done_once_and_reported(stack: Any) -> None:
    first = bought(stack, "u1", "net-1", PERSON)
    second = bought(stack, "u2", "net-2", PERSON)
    kept = bought(stack, "u1", "net-1", raw_lead(4))
    task = stack.open_task("erasure", "jeanne.person@example.fr")
    stack.publish("dsr_task_requested", {**task, "service": "plans"})  # not leads': ignored
    stack.publish("dsr_task_requested", task)
    leads_testing.wait_for(lambda: stack.events("dsr_task_reported"), what="the report")
    assert stack.events("dsr_task_reported") == [{
        "request_id": task["request_id"], "service": "leads", "found": True,
        "records_affected": 4}]  # two office copies, their two captured copies
    leads_testing.wait_for(lambda: len(stack.events("lead_erased")) == 2, what="the notices")
    assert {e["user_id"] for e in stack.events("lead_erased")} == {"u1", "u2"}
    with stack.engine.connect() as conn:
        data = dict(conn.execute(select(office_leads.c.id, office_leads.c.data)).all())
        pii = dict(conn.execute(select(leads.c.id, leads.c.pii)).all())
    assert data[uuid.UUID(first)] is None and data[uuid.UUID(second)] is None
    assert pii[uuid.UUID(first)] is None and data[uuid.UUID(kept)] is not None
    # a retry (the task looked late) reports the same, and erases nothing more
    stack.publish("dsr_task_requested", {**task, "attempt": 2})
    leads_testing.wait_for(lambda: len(stack.events("dsr_task_reported")) == 2)
    assert stack.events("dsr_task_reported")[0] == stack.events("dsr_task_reported")[1]
    leads_testing.wait_for(lambda: leads_testing.broker_settled(stack.uri.rsplit("/", 1)[-1]))
    assert len(stack.events("lead_erased")) == 2


def test_the_breach_count_and_who_may_ask(stack: Any) -> None:
    for i in range(2):
        bought(stack, "u1", "net-1", raw_lead(i))
    bought(stack, "u2", "net-2", raw_lead(5))
    scope = {"kind": "networks", "network_ids": ["net-2"], "user_ids": [],
             "changed_from": None, "changed_to": None, "data_categories": ["email"]}
    with stack.rpc("compliance") as leads_rpc:
        assert leads_rpc.breach_scope(scope) == [
            {"user_id": "u2", "network_id": "net-2", "persons": 1, "records": 1}]
        assert leads_rpc.breach_scope({**scope, "kind": "all"})[0] == {
            "user_id": "u1", "network_id": "net-1", "persons": 2, "records": 2}
        register = leads_rpc.data_map()
    assert register["service"] == "leads" and register["format_version"] == 1
    with stack.rpc(user=Principal("u2", "user", "net-2")) as leads_rpc, pytest.raises(Forbidden):
        leads_rpc.breach_scope(scope)


def test_the_persons_of_an_approving_controller_are_mailed(stack: Any) -> None:
    lead = bought(stack, "u1", "net-1", raw_lead(1))
    bought(stack, "u2", "net-1", raw_lead(2))
    payload = {"breach_id": "b-1", "user_id": "u1", "network_id": "net-1",
               "scope": {"kind": "networks", "network_ids": ["net-1"], "user_ids": [],
                         "changed_from": None, "changed_to": None, "data_categories": []},
               "subject": "Violation de données", "text": "…", "dpo": {"name": None}}
    stack.publish("breach_subject_notice_requested", payload, "m-1")
    stack.publish("breach_subject_notice_requested", payload, "m-2")  # approved twice
    leads_testing.wait_for(lambda: stack.events("breach_subject_mail_requested"))
    leads_testing.wait_for(lambda: leads_testing.broker_settled(stack.uri.rsplit("/", 1)[-1]))
    mails = stack.events("breach_subject_mail_requested")
    assert [m["lead_id"] for m in mails] == [lead]
    with stack.rpc("mailer") as leads_rpc:
        assert leads_rpc.breach_subject_contact("b-1", lead)["email"] == "lead1@example.fr"
        with pytest.raises(NotFound):
            leads_rpc.breach_subject_contact("b-2", lead)
    with stack.rpc("compliance") as leads_rpc, pytest.raises(Forbidden):
        leads_rpc.breach_subject_contact("b-1", lead)


def test_the_retention_sweep_runs_on_the_platform_clock(stack: Any) -> None:
    clock.freeze(datetime(2025, 3, 1, 10, tzinfo=PARIS))
    lead = bought(stack, "u1", "net-1", raw_lead(1))
    with stack.h.session() as s:
        record_office(s, "u1", False, datetime(2025, 3, 31, 18, tzinfo=PARIS))
        s.commit()
    clock.freeze(datetime(2025, 9, 29, 23, tzinfo=PARIS))
    with stack.rpc("compliance") as leads_rpc:
        assert leads_rpc.retention_sweep()["office_leads"] == 0
    clock.freeze(datetime(2025, 9, 30, 0, 1, tzinfo=PARIS))  # 31 March + 6 months
    with stack.rpc("compliance") as leads_rpc:
        assert leads_rpc.retention_sweep()["office_leads"] == 1
    leads_testing.wait_for(lambda: stack.events("office_leads_erased"))
    assert stack.events("office_leads_erased")[0]["lead_ids"] == [lead]
    with stack.engine.connect() as conn:
        assert conn.execute(select(offices.c.active)).scalar() is False


def test_bulk_delete_over_rpc(stack: Any) -> None:
    for i in range(3):
        bought(stack, "u1", "net-1", raw_lead(i))
    stack.h.run(one_lead.change_status, "u1", str(
        stack.h.run(lambda ctx: ctx.session.execute(select(office_leads.c.id)).scalars().first(
        ))), "contacted", actor=user("u1"))
    with stack.rpc(user=Principal("u1", "user", "net-1")) as leads_rpc:
        assert leads_rpc.office_bulk_delete({"status": "new"}) == {"deleted": 2, "kept": 0}
        assert len(leads_rpc.office_list_leads()["items"]) == 1
    leads_testing.wait_for(lambda: stack.events("office_leads_erased"))


def test_the_dashboards_stale_count_over_rpc(stack: Any) -> None:
    """``office_stale_leads``: the caller's own stale leads, the day as the monthly email
    names it; a closed office is refused like the listing."""
    clock.freeze(datetime(2025, 3, 1, 10, tzinfo=PARIS))
    for i in range(2):
        bought(stack, "u1", "net-1", raw_lead(i))
    clock.freeze(datetime(2026, 3, 10, 10, tzinfo=PARIS))
    with stack.rpc(user=Principal("u1", "user", "net-1")) as leads_rpc:
        assert leads_rpc.office_stale_leads() == {"inactive_since": "2025-03-11", "months": 12,
                                                  "count": 2}
    with stack.rpc(user=Principal("u2", "user", "net-1")) as leads_rpc:
        assert leads_rpc.office_stale_leads()["count"] == 0
    with stack.h.session() as s:
        record_office(s, "u1", False, datetime(2026, 3, 10, 11, tzinfo=PARIS))
        s.commit()
    with stack.rpc(user=Principal("u1", "user", "net-1")) as leads_rpc, \
            pytest.raises(Forbidden):
        leads_rpc.office_stale_leads()
