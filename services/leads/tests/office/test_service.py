"""The office mixin running in a real container: deliveries consumed, access rules (IDOR,
closed office, admin view), events on the broker."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, text

from leads import testing as leads_testing
from leads.models import office_leads
from leads.office_testing import raw_lead
from suivi_common import events
from suivi_common.errors import Conflict, Forbidden, NotFound, Unauthorized


def test_a_delivered_lead_lands_in_its_buyers_office_once(stack: Any) -> None:
    lead = stack.deliver("u1", message_id="m-1")
    # redelivery of the same message, then the same fact under another message id
    payload = events.example("lead_delivered", lead_id=lead, plan_id="plan-1", user_id="u1",
                             network_id="net-1")
    stack.publish("lead_delivered", payload, "m-1")
    stack.publish("lead_delivered", payload, "m-2")
    second = stack.deliver("u1", i=1)

    def handled() -> int:
        with stack.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM inbox")).scalar())

    leads_testing.wait_for(lambda: handled() == 3)  # m-1 once, m-2, the second delivery
    assert stack.count() == 2 and second != lead
    with stack.engine.connect() as conn:
        row = conn.execute(select(office_leads).where(office_leads.c.id == uuid.UUID(lead))).one()
        blob = b"".join(bytes(row._mapping[c]) for c in ("data", "initial_data", "email_bidx"))
    assert b"lead0@example.fr" not in blob and b"Martin" not in blob
    assert (row.origin, row.status, row.plan_country, row.network_id) == (
        "purchased", "new", "FR", "net-1")
    with stack.rpc("user", "u1") as leads:
        view = leads.office_get_lead(lead)
    assert view["email"] == "lead0@example.fr" and view["initial"]["email"] == "lead0@example.fr"


def test_every_lead_endpoint_answers_404_for_another_users_lead(stack: Any) -> None:
    lead = stack.deliver("u1")
    with stack.rpc("user", "u2") as leads:
        calls = [
            lambda: leads.office_get_lead(lead),
            lambda: leads.office_update_lead(lead, {"city": "Lyon"}),
            lambda: leads.office_delete_lead(lead),
            lambda: leads.office_add_note(lead, "hello"),
            lambda: leads.office_list_notes(lead),
            lambda: leads.office_change_status(lead, "contacted"),
            lambda: leads.office_lead_history(lead),
            lambda: leads.refund_claim_file(lead, "phone_unassigned"),
            lambda: leads.office_get_lead("not-a-uuid"),
        ]
        for call in calls:
            with pytest.raises(NotFound):
                call()
        assert leads.office_list_leads()["items"] == []
    with stack.rpc("user", "u1") as leads:
        assert leads.office_get_lead(lead)["status"] == "new"  # untouched
        job = leads.office_export_start()
    with stack.rpc("user", "u2") as leads, pytest.raises(NotFound):
        leads.office_export_chunk(job["export_id"], 0)


def test_a_closed_office_cannot_be_reached(stack: Any, fake: dict[str, Any]) -> None:
    lead = stack.deliver("u1")
    fake["closed"].add("u1")
    with stack.rpc("user", "u1") as leads:
        for call in (lambda: leads.office_get_lead(lead), lambda: leads.office_list_leads(),
                     lambda: leads.office_export_start(),
                     lambda: leads.office_create_lead(raw_lead(9))):
            with pytest.raises(Forbidden) as caught:
                call()
            assert caught.value.code == "office_inactive"
        assert leads.refund_claims_mine()["items"] == []  # decisions stay visible
    fake["closed"].clear()
    # the read model wins over the RPC when it knows the office
    with stack.engine.begin() as conn:
        conn.execute(text("INSERT INTO offices (user_id, active, source) VALUES ('u1', false, 'event')"))
    with stack.rpc("user", "u1") as leads, pytest.raises(Forbidden):
        leads.office_get_lead(lead)


def test_roles(stack: Any) -> None:
    with stack.rpc(None) as leads, pytest.raises(Unauthorized):
        leads.office_list_leads()
    with stack.rpc("staff", "s1", None) as leads, pytest.raises(Forbidden):
        leads.office_list_leads()
    with stack.rpc("user", "u1") as leads:
        with pytest.raises(Forbidden):
            leads.refund_claims_staff()
        with pytest.raises(Forbidden):
            leads.office_put_pipeline(["a"], "a", [])
        with pytest.raises(Forbidden):
            leads.office_erase_lead(str(uuid.uuid4()))
        assert leads.office_get_pipeline()["initial"] == "new"


def test_the_admin_view_and_the_privacy_opt_out(stack: Any, fake: dict[str, Any]) -> None:
    lead = stack.deliver("u1")
    stack.deliver("u9", network_id="net-2", i=1)
    fake["admins"]["a1"] = "net-1"
    fake["members"]["u1"] = {"network": "net-1", "admin_access": True}
    fake["members"]["u9"] = {"network": "net-2", "admin_access": True}
    with stack.rpc("admin", "a1") as leads:
        assert [i["id"] for i in leads.office_member_leads("u1")["items"]] == [lead]
        assert leads.office_member_lead("u1", lead)["email"] == "lead0@example.fr"
        assert leads.office_member_lead_history("u1", lead)["items"] == []
        with pytest.raises(NotFound):
            leads.office_member_leads("u9")  # another network's member
        fake["members"]["u1"]["admin_access"] = False
        for call in (lambda: leads.office_member_leads("u1"),
                     lambda: leads.office_member_lead("u1", lead),
                     lambda: leads.office_member_lead_history("u1", lead)):
            with pytest.raises(Forbidden) as caught:
                call()
            assert caught.value.code == "admin_access_refused"
    with stack.rpc("user", "u2") as leads, pytest.raises(Forbidden):
        leads.office_member_leads("u1")


def test_status_changes_and_approvals_reach_the_broker_once(stack: Any) -> None:
    lead = stack.deliver("u1")
    with stack.rpc("user", "u1") as leads:
        leads.office_change_status(lead, "contacted")
        claim = leads.refund_claim_file(lead, "phone_unassigned", "ne répond jamais")
    with stack.rpc("staff", "s1", None) as leads:
        pending = leads.refund_claims_staff("pending")["items"]
        assert [c["id"] for c in pending] == [claim["id"]]
        assert pending[0]["checks"]["phone_valid"] == "pass"
        assert leads.refund_claim_decide(claim["id"], True, "ok")["status"] == "approved"
        with pytest.raises(Conflict) as caught:
            leads.refund_claim_decide(claim["id"], True, "again")
        assert caught.value.code == "refund_claim_decided"
    leads_testing.wait_for(lambda: stack.events("refund_approved")
                           and stack.events("lead_status_changed"))
    stack.deliver("u1", i=5)  # the outbox is relayed in order: later events came through
    assert stack.events("refund_approved") == [
        {"claim_id": claim["id"], "lead_id": lead, "plan_id": "plan-1", "user_id": "u1"}]
    moved = stack.events("lead_status_changed")
    assert [(e["lead_id"], e["old_status"], e["new_status"]) for e in moved] == [
        (lead, "new", "contacted")]
    with stack.rpc("user", "u1") as leads:
        assert leads.refund_claims_mine()["items"][0]["status"] == "approved"


def test_erasure_by_the_compliance_service(stack: Any) -> None:
    lead = stack.deliver("u1")
    for role, who in (("compliance", "c1"), ("staff", "s1")):  # people go through compliance
        with stack.rpc(role, who, None) as leads, pytest.raises(Forbidden):
            leads.office_erase_lead(lead)
    with stack.rpc(None) as leads, pytest.raises(Unauthorized):
        leads.office_erase_lead(lead)
    with stack.rpc("service", "compliance", None) as leads:
        assert leads.office_erase_lead(lead)["already"] is False
        assert leads.office_erase_lead(lead)["already"] is True
    with stack.rpc("user", "u1") as leads:
        view = leads.office_get_lead(lead)
        assert view["erased"] and view["email"] is None
        with pytest.raises(Conflict) as caught:
            leads.refund_claim_file(lead, "fake_record")
        assert caught.value.code == "refund_claim_lead_erased"
    leads_testing.wait_for(lambda: stack.events("lead_erased"))
