"""Refund claims (terms 3.B.ii): every refusal rule, the automatic checks, the decision."""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leads import testing as leads_testing
from leads.domain.history import ChangeSource
from leads.domain.refund_checks import DomainNotFoundError, ResolverUnavailableError
from leads.office_testing import Harness, deliver, raw_lead, user
from leads.usecases import entitlements
from leads.usecases.office import claims, one_lead
from leads.usecases.office.context import Actor
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid, NotFound

U1 = user("u1")
STAFF = Actor("s1", ChangeSource.STAFF)
DELIVERED = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def dns(answers: dict[str, Any]) -> Callable[[str], bool]:
    def resolve(domain: str) -> bool:
        answer = answers.get(domain, True)
        if answer == "nx":
            raise DomainNotFoundError(domain)
        if answer == "down":
            raise ResolverUnavailableError("timeout")
        return answer
    return resolve


OK_DNS = dns({})


def file(h: Harness, lead: str, reason: str = "phone_unassigned",
         resolver: Callable[[str], bool] = OK_DNS, owner: str = "u1",
         comment: str | None = None) -> dict[str, Any]:
    return h.run(claims.file_claim, owner, lead, reason, comment, resolver, actor=user(owner))


def refusal(h: Harness, lead: str, **kwargs: Any) -> str:
    with pytest.raises(Conflict) as caught:
        file(h, lead, **kwargs)
    return caught.value.code


@pytest.fixture
def lead(h: Harness) -> str:
    clock.freeze(DELIVERED)
    return deliver(h, owner_id="u1", raw=raw_lead(0, last_name="Martin"))


def test_a_claim_is_filed_with_its_checks(h: Harness, lead: str) -> None:
    claim = file(h, lead, comment="Numéro non attribué")
    assert claim["status"] == "pending" and claim["reason"] == "phone_unassigned"
    assert claim["comment"] == "Numéro non attribué"
    staff = h.run(claims.for_staff, "pending", None, 50, actor=STAFF)["items"][0]
    checks = staff["checks"]
    assert checks["plan_country"] == "FR" and checks["phone_valid"] == "pass"
    assert checks["phones"]["mobile"]["line_type"] == "mobile"
    assert checks["country"] == {"lead": "pass", "phones": "pass", "postal_code": "pass"}
    assert checks["email"]["domain"] == "pass" and checks["names"]["result"] == "pass"
    assert staff["lead"]["initial"]["email"] == "lead0@example.fr"
    assert h.run(one_lead.get, "u1", lead, actor=U1)["refund"]["claim"]["status"] == "pending"


@pytest.mark.parametrize(("answer", "verdict"), [("nx", "failed"), (False, "failed"),
                                                 ("down", "unknown"), (True, "pass")])
def test_the_email_domain_check(h: Harness, lead: str, answer: Any, verdict: str) -> None:
    file(h, lead, reason="fake_record", resolver=dns({"example.fr": answer}))
    checks = h.run(claims.for_staff, None, None, 50, actor=STAFF)["items"][0]["checks"]
    assert checks["email"]["domain"] == verdict


def test_checks_flag_a_fake_looking_foreign_record(h: Harness) -> None:
    clock.freeze(DELIVERED)
    h.run(lambda ctx: entitlements.apply_snapshot(ctx.session, leads_testing.snapshot(
        "plan-fr", "u1", {DELIVERED.date(): 5}, country="FR"), ctx.now))
    lead = deliver(h, owner_id="u1", plan_id="plan-fr", raw=raw_lead(
        7, first_name="Azerty", last_name="Qsdfgh", mobile="+32 470 12 34 56", country="BE",
        postal_code="1000", city="Bruxelles", email="x@nowhere-at-all.fr"))
    file(h, lead, reason="wrong_country", resolver=dns({"nowhere-at-all.fr": "nx"}))
    checks = h.run(claims.for_staff, None, None, 50, actor=STAFF)["items"][0]["checks"]
    assert checks["plan_country"] == "FR"  # the plan's country, stored at delivery
    assert checks["country"] == {"lead": "failed", "phones": "failed", "postal_code": "failed"}
    assert checks["names"]["result"] == "suspicious"
    assert checks["email"] == {"syntax": "pass", "domain": "failed",
                               "detail": "nowhere-at-all.fr does not exist"}


def test_refused_when_the_user_edited_the_lead(h: Harness, lead: str) -> None:
    h.run(one_lead.update_lead, "u1", lead, {"first_name": "Jeanne"}, actor=U1)
    assert refusal(h, lead) == "refund_claim_lead_edited"


def test_status_moves_and_notes_are_not_edits(h: Harness, lead: str) -> None:
    h.run(one_lead.change_status, "u1", lead, "contacted", actor=U1)
    h.run(one_lead.add_note, "u1", lead, "messagerie", actor=U1)
    assert file(h, lead)["status"] == "pending"


def test_refused_for_a_personal_lead(h: Harness) -> None:
    personal = h.run(one_lead.create_personal, "u1", "net-1", raw_lead(3), actor=U1)
    assert refusal(h, personal["id"]) == "refund_claim_personal_lead"


def test_refused_when_already_claimed_whatever_the_outcome(h: Harness, lead: str) -> None:
    claim = file(h, lead)
    assert refusal(h, lead) == "refund_claim_already_claimed"
    h.run(claims.decide, claim["id"], False, "numéro attribué", actor=STAFF)
    assert refusal(h, lead) == "refund_claim_already_claimed"


def test_the_window(h: Harness, lead: str) -> None:
    clock.freeze(DELIVERED + timedelta(days=7, seconds=1))
    assert refusal(h, lead) == "refund_claim_window_closed"
    clock.freeze(DELIVERED + timedelta(days=7))  # the deadline instant is still open
    assert file(h, lead)["status"] == "pending"


def test_refused_after_erasure_and_erasure_rejects_a_pending_claim(h: Harness) -> None:
    clock.freeze(DELIVERED)
    pending = deliver(h, owner_id="u1", i=1)
    claim = file(h, pending)
    h.run(one_lead.erase, pending, actor=STAFF)
    assert refusal(h, pending) == "refund_claim_lead_erased"
    mine = h.run(claims.mine, "u1", None, 50, actor=U1)["items"]
    assert [(c["id"], c["status"]) for c in mine] == [(claim["id"], "rejected")]
    staff = h.run(claims.for_staff, None, None, 50, actor=STAFF)["items"][0]
    assert staff["checks"] is None and staff["lead"]["erased"] is True
    assert h.events_of("refund_approved") == []


def test_bad_reason_and_other_users_lead(h: Harness, lead: str) -> None:
    with pytest.raises(Invalid) as caught:
        file(h, lead, reason="changed_my_mind")
    assert "reason" in caught.value.fields
    with pytest.raises(NotFound):
        file(h, lead, owner="u2")


def test_approval_emits_refund_approved_exactly_once(h: Harness, lead: str) -> None:
    claim = file(h, lead)
    decided = h.run(claims.decide, claim["id"], True, "confirmé", actor=STAFF)
    assert decided["status"] == "approved" and decided["decided_by"] == "s1"
    with pytest.raises(Conflict) as caught:
        h.run(claims.decide, claim["id"], True, None, actor=STAFF)
    assert caught.value.code == "refund_claim_decided"
    with pytest.raises(Conflict):
        h.run(claims.decide, claim["id"], False, None, actor=STAFF)
    assert h.events_of("refund_approved") == [
        {"claim_id": claim["id"], "lead_id": lead, "plan_id": "plan-1", "user_id": "u1"}]
    mine = h.run(claims.mine, "u1", None, 50, actor=U1)["items"][0]
    assert mine["status"] == "approved" and mine["decision_comment"] == "confirmé"
    assert h.run(claims.for_staff, "pending", None, 50, actor=STAFF)["items"] == []


def test_racing_decisions_approve_once(h: Harness, lead: str) -> None:
    claim = file(h, lead)
    outcomes: list[str] = []

    def decide() -> None:
        try:
            h.run(claims.decide, claim["id"], True, None, actor=STAFF)
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=decide) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["refund_claim_decided"] * 3
    assert len(h.events_of("refund_approved")) == 1


def test_a_lead_with_a_pending_claim_cannot_be_deleted(h: Harness, lead: str) -> None:
    claim = file(h, lead)
    with pytest.raises(Conflict) as caught:
        h.run(one_lead.delete_lead, "u1", lead, actor=U1)
    assert caught.value.code == "refund_claim_pending"
    h.run(claims.decide, claim["id"], False, None, actor=STAFF)
    h.run(one_lead.delete_lead, "u1", lead, actor=U1)
    with pytest.raises(NotFound):
        h.run(one_lead.get, "u1", lead, actor=U1)
    assert h.run(claims.mine, "u1", None, 50, actor=U1)["items"][0]["status"] == "rejected"


def test_deciding_an_unknown_claim(h: Harness) -> None:
    with pytest.raises(NotFound):
        h.run(claims.decide, "00000000-0000-4000-8000-000000000000", True, None, actor=STAFF)
    with pytest.raises(Invalid):
        h.run(claims.for_staff, "lost", None, 50, actor=STAFF)
