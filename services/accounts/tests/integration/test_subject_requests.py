"""Data-subject requests: compliance's ``dsr_task_requested`` (published as its relay
does), the person's identifiers asked of a fake compliance, accounts' report."""
from __future__ import annotations

import base64
import io
import uuid
from typing import Any

import pyotp
import pytest
from PIL import Image

from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, NotFound, Unauthorized

PASSWORD = "violet tractor mango river"
ADDRESS = {"line1": "3 rue des Lilas", "postal_code": "69001", "city": "Lyon", "country": "FR"}


def ask(h: Any, kind: str, email: str | None = None, phone: str | None = None,
        changes: dict[str, Any] | None = None, request_id: str | None = None,
        attempt: int = 1, service: str = "accounts") -> str:
    """Open a task at the fake compliance and send its event; returns the request id."""
    request_id = request_id or str(uuid.uuid4())
    h.compliance.open_task(request_id, kind, email, phone, changes)
    h.publish("compliance", "dsr_task_requested",
              {"request_id": request_id, "service": service, "kind": kind, "attempt": attempt,
               "due_on": "2026-07-10", "email_index": "00" * 32, "phone_index": None},
              message_id=f"dsr:{request_id}:{service}:{attempt}")
    return request_id


def reports(h: Any, request_id: str) -> list[dict[str, Any]]:
    return [p for p in h.events_of("dsr_task_reported") if p["request_id"] == request_id]


def report(h: Any, request_id: str) -> dict[str, Any]:
    return h.wait_event("dsr_task_reported", lambda p: p["request_id"] == request_id)


@pytest.fixture
def member(h: Any, network: dict[str, Any]) -> dict[str, Any]:
    member = h.new_member(network, "bruno@soleil.test")
    h.rpc(member).update_me({"phone": "06 12 34 56 78", "address": ADDRESS})
    return member


def test_access_returns_the_account_and_asks_compliance_as_accounts(
        h: Any, member: dict[str, Any]) -> None:
    h.rpc(member).accept_terms("2026-01", "203.0.113.5")
    h.anon.login("bruno@soleil.test", PASSWORD, "203.0.113.5")
    rid = ask(h, "access", email="Bruno@Soleil.test")
    answer = report(h, rid)
    assert answer["service"] == "accounts" and answer["found"] is True
    assert "error" not in answer
    [account] = answer["data"]["accounts"]
    assert account["profile"] == {"email": "bruno@soleil.test", "first_name": "Bruno",
                                  "last_name": "Leroy", "phone": "+33612345678",
                                  "address": ADDRESS}
    assert account["account"]["id"] == member["user_id"]
    assert account["account"]["network"]["name"] == "Réseau Soleil"
    assert [a["ip"] for a in account["terms_acceptances"]] == ["203.0.113.5"]
    assert len(account["sessions"]) == 1 and "token" not in repr(account["sessions"])
    assert answer["records_affected"] == 1 + 1 + 1  # the account, an acceptance, a session
    assert h.compliance.asked == [(rid, "accounts")]


def test_portability_gives_the_same_document(h: Any, member: dict[str, Any]) -> None:
    rid = ask(h, "portability", phone="+33612345678")
    data = report(h, rid)["data"]
    assert data["kind"] == "portability"
    assert data["accounts"][0]["profile"]["email"] == "bruno@soleil.test"


def test_another_services_task_and_an_unknown_person(h: Any, member: dict[str, Any]) -> None:
    ask(h, "erasure", email="bruno@soleil.test", service="leads")
    nobody = ask(h, "erasure", email="nobody@soleil.test")
    assert report(h, nobody) == {"request_id": nobody, "service": "accounts", "found": False,
                                 "records_affected": 0}
    assert [r for r, _ in h.compliance.asked] == [nobody]  # leads' task was not accounts'
    assert h.rpc(member).get_me()["email"] == "bruno@soleil.test"


def test_a_task_no_longer_open_is_left_alone(h: Any, member: dict[str, Any]) -> None:
    rid = str(uuid.uuid4())
    h.publish("compliance", "dsr_task_requested",
              {"request_id": rid, "service": "accounts", "kind": "erasure", "attempt": 1,
               "due_on": "2026-07-10", "email_index": None, "phone_index": None},
              message_id=f"dsr:{rid}")
    assert reports(h, rid) == []
    assert h.compliance.asked == [(rid, "accounts")]


def test_a_shared_phone_alone_is_ambiguous(h: Any, network: dict[str, Any],
                                           member: dict[str, Any]) -> None:
    other = h.new_member(network, "carla@soleil.test", "Carla", "Roux")
    h.rpc(other).update_me({"phone": "+33 6 12 34 56 78"})
    rid = ask(h, "erasure", phone="+33612345678")
    answer = report(h, rid)
    assert answer["error"].startswith("ambiguous_subject") and answer["records_affected"] == 0
    assert h.rpc(member).get_me()["email"] == "bruno@soleil.test"
    # with the email, the same phone names one person
    rid = ask(h, "restriction", email="carla@soleil.test", phone="+33612345678")
    assert report(h, rid)["records_affected"] == 1
    assert h.scalar("SELECT count(*) FROM users WHERE restricted_at IS NOT NULL") == 1


def test_erasure_keeps_the_invoice_identity_and_is_done_once(
        h: Any, network: dict[str, Any], member: dict[str, Any]) -> None:
    sub = h.subscribe_by_transfer(member)
    h.rpc(member).accept_terms("2026-01", "203.0.113.5")
    rid = ask(h, "erasure", email="bruno@soleil.test")
    first = report(h, rid)
    assert first["found"] is True and first["records_affected"] >= 3
    row = h.rows("SELECT email, email_index, phone, phone_index, password_hash, first_name, "
                 "address, status, erased_at, billing_retained_until FROM users WHERE id = :i",
                 i=member["user_id"])[0]
    assert (row.email, row.email_index, row.phone, row.phone_index, row.password_hash) == \
        (None, None, None, None, None)
    assert row.first_name is not None and row.address is not None  # for the invoices
    assert row.status == "terminated" and row.erased_at is not None
    assert row.billing_retained_until.year == 2036
    assert h.scalar("SELECT count(*) FROM sessions WHERE user_id = :i", i=member["user_id"]) == 0
    assert h.scalar("SELECT count(*) FROM terms_acceptances WHERE ip IS NOT NULL") == 0
    assert h.scalar("SELECT status FROM payments WHERE id = :i",
                    i=sub["payment"]["id"]) == "validated"
    ended = h.wait_event("subscription_ended", lambda p: p["subscription_id"] == sub["id"])
    assert (ended["reason"], ended["office_active"]) == ("erased", False)
    with pytest.raises(Unauthorized):
        h.anon.login("bruno@soleil.test", PASSWORD, "203.0.113.5")
    with pytest.raises(NotFound):
        h.service("mailer").get_user(member["user_id"])
    assert h.service().office_active(member["user_id"]) is False

    # compliance asks again (a late task): the same report, nothing erased twice
    ask(h, "erasure", email="bruno@soleil.test", request_id=rid, attempt=2)
    again = reports(h, rid)
    assert len(again) == 2 and again[1] == first
    assert len(h.events_of("user_erased")) == 1
    # the email is free again: the person may come back as a new account
    h.rpc(network["admin"]).invite_member("bruno@soleil.test", "Bruno", "Leroy")
    with pytest.raises(Conflict) as refused:
        h.rpc(h.staff()).reactivate_user(member["user_id"])
    assert refused.value.code == "account_erased"


def test_erasure_without_payment_erases_the_names_too(h: Any, member: dict[str, Any]) -> None:
    rid = ask(h, "erasure", phone="0612345678")
    assert report(h, rid)["found"] is True
    row = h.rows("SELECT first_name, last_name, address, billing_retained_until FROM users "
                 "WHERE id = :i", i=member["user_id"])[0]
    assert tuple(row) == (None, None, None, None)
    assert h.events_of("user_erased") == [
        {"user_id": member["user_id"], "network_id": member["network_id"],
         "erased_at": h.events_of("user_erased")[0]["erased_at"], "reason": "request"}]


def test_erasure_takes_the_second_factor_along(h: Any, member: dict[str, Any]) -> None:
    started = h.rpc(member).start_mfa_enrolment()
    h.rpc(member).confirm_mfa_enrolment(pyotp.TOTP(started["secret"]).at(clock.now()))
    rid = ask(h, "erasure", email="bruno@soleil.test")
    assert report(h, rid)["records_affected"] >= 1 + 10 + 1  # the factor and its codes too
    for table in ("mfa_factors", "mfa_recovery_codes", "mfa_challenges"):
        assert h.scalar(f"SELECT count(*) FROM {table} WHERE user_id = :u",
                        u=member["user_id"]) == 0


def test_erasure_takes_other_networks_invitations_of_the_address_along(
        h: Any, member: dict[str, Any]) -> None:
    other = h.new_network("Réseau Lune", "admin@lune.test")
    masked = h.rpc(other["admin"]).invite_member("bruno@soleil.test", "Bruno", "D")
    assert h.scalar("SELECT count(*) FROM masked_invitations") == 1
    rid = ask(h, "erasure", email="bruno@soleil.test")
    assert report(h, rid)["found"] is True
    assert h.scalar("SELECT count(*) FROM masked_invitations") == 0
    with pytest.raises(NotFound):
        h.rpc(other["admin"]).get_member(masked["id"])


def test_rectification_keeps_the_history(h: Any, member: dict[str, Any]) -> None:
    changes = {"email": "bruno.leroy@soleil.test", "last_name": "Le Roy",
               "postal_code": "69002", "first_name": "Bruno"}
    rid = ask(h, "rectification", email="bruno@soleil.test", changes=changes)
    answer = report(h, rid)
    assert (answer["found"], answer["records_affected"]) == (True, 1)
    assert answer["data"] == {"rectified": ["email", "last_name", "postal_code"],
                              "unchanged": ["first_name"], "not_held": []}
    me = h.rpc(member).get_me()
    assert (me["email"], me["last_name"], me["address"]["postal_code"]) == \
        ("bruno.leroy@soleil.test", "Le Roy", "69002")
    assert h.anon.login("bruno.leroy@soleil.test", PASSWORD, "203.0.113.5")["token"]
    # the person's access shows what was rectified, with the previous values
    access = report(h, ask(h, "access", email="bruno.leroy@soleil.test"))
    history = {r["field"]: r["previous"] for r in access["data"]["accounts"][0]["rectifications"]}
    assert history == {"email": "bruno@soleil.test", "last_name": "Leroy", "postal_code": "69001"}


def test_a_rectification_to_a_taken_email_fails(h: Any, network: dict[str, Any],
                                                member: dict[str, Any]) -> None:
    rid = ask(h, "rectification", email="bruno@soleil.test",
              changes={"email": "admin@soleil.test"})
    answer = report(h, rid)
    assert answer["error"].startswith("email_taken")
    assert h.rpc(member).get_me()["email"] == "bruno@soleil.test"
    # failed, so not done: compliance resumes it with a good value and it runs
    h.compliance.open_task(rid, "rectification", "bruno@soleil.test", None,
                           {"email": "bruno2@soleil.test"})
    ask(h, "rectification", email="bruno@soleil.test", request_id=rid, attempt=2,
        changes={"email": "bruno2@soleil.test"})
    h.wait_event("dsr_task_reported", lambda p: p["request_id"] == rid and "error" not in p)
    assert h.rpc(member).get_me()["email"] == "bruno2@soleil.test"


def test_restriction_hides_the_member_from_the_admin(h: Any, network: dict[str, Any],
                                                     member: dict[str, Any]) -> None:
    admin = network["admin"]
    assert h.service().admin_can_view(admin["user_id"], member["user_id"]) is True
    assert report(h, ask(h, "restriction", email="bruno@soleil.test"))["records_affected"] == 1
    assert h.service().admin_can_view(admin["user_id"], member["user_id"]) is False
    with pytest.raises(Forbidden):
        h.rpc(admin).member_office(member["user_id"])
    assert h.rpc(member).get_me()["email"] == "bruno@soleil.test"  # the user still works


def test_objection_turns_the_admins_look_off(h: Any, network: dict[str, Any],
                                             member: dict[str, Any]) -> None:
    rid = ask(h, "objection", email="bruno@soleil.test")
    assert report(h, rid)["records_affected"] == 1
    assert h.rpc(member).get_me()["privacy"] == {"admin_access": False}
    assert h.wait_event("user_privacy_changed")["admin_access"] is False
    assert h.service().admin_can_view(network["admin_id"], member["user_id"]) is False


def test_other_services_learn_the_same_person_for_the_whole_request(
        h: Any, member: dict[str, Any]) -> None:
    rid = ask(h, "erasure", email="bruno@soleil.test")
    report(h, rid)
    # plans asks after accounts erased the account: the request's person is still known
    answer = h.service("plans").subject_users(rid, "bruno@soleil.test", None)
    assert answer == {"request_id": rid, "user_ids": [member["user_id"]], "ambiguous": False}
    fresh = h.service("plans").subject_users(str(uuid.uuid4()), "bruno@soleil.test", None)
    assert fresh["user_ids"] == []
    with pytest.raises(Forbidden):
        h.service("compliance").subject_users(rid, "bruno@soleil.test", None)
    with pytest.raises(Forbidden):
        h.rpc(member).subject_users(rid, "bruno@soleil.test", None)


def test_access_carries_the_members_site_data(h: Any, network: dict[str, Any],
                                              member: dict[str, Any]) -> None:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), (10, 120, 200)).save(out, format="PNG")
    h.rpc(member).update_my_site({"show_phone": False})
    h.rpc(member).set_my_site_photo(base64.b64encode(out.getvalue()).decode())
    rid = ask(h, "access", email="bruno@soleil.test")
    answer = report(h, rid)
    site = answer["data"]["accounts"][0]["site"]
    assert site["slug"] == h.rpc(member).my_site()["slug"]
    assert site["settings"] == {"show_name": True, "show_phone": False, "show_email": True,
                                "show_photo": True}
    assert site["photo"]["content_type"] == "image/jpeg" and site["photo"]["content_base64"]
    assert site["overrides"] == []
    assert answer["records_affected"] == 1 + 2  # the account, its site settings and photo
