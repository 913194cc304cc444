"""The network pipeline in the office: status moves and the admin's pipeline edits."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from leads.domain.history import ChangeSource
from leads.models import office_history, office_leads
from leads.office_testing import Harness, deliver, raw_lead, user
from leads.usecases.office import one_lead, pipelines
from leads.usecases.office.context import Actor
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid

U1 = user("u1")
ADMIN = Actor("a1", ChangeSource.ADMIN, "net-1")


def test_a_delivered_lead_starts_in_the_initial_status(h: Harness) -> None:
    lead = deliver(h, owner_id="u1")
    view = h.run(one_lead.get, "u1", lead, actor=U1)
    assert view["status"] == "new" and view["origin"] == "purchased"


def test_status_rules(h: Harness) -> None:
    lead = deliver(h, owner_id="u1")
    with pytest.raises(Invalid) as caught:
        h.run(one_lead.change_status, "u1", lead, "won", actor=U1)
    assert "status" in caught.value.fields
    assert h.run(one_lead.change_status, "u1", lead, "meeting", actor=U1)["status"] == "meeting"
    assert h.run(one_lead.change_status, "u1", lead, "contacted", actor=U1)["status"] == "contacted"
    h.run(one_lead.change_status, "u1", lead, "client", actor=U1)
    with pytest.raises(Conflict) as caught:  # terminal: closed until reopened explicitly
        h.run(one_lead.change_status, "u1", lead, "contacted", actor=U1)
    assert caught.value.code == "status_terminal"
    assert h.run(one_lead.change_status, "u1", lead, "contacted", reopen=True,
                 actor=U1)["status"] == "contacted"
    moves = h.events_of("lead_status_changed")
    assert [(e["old_status"], e["new_status"]) for e in moves] == [
        ("new", "meeting"), ("meeting", "contacted"), ("contacted", "client"),
        ("client", "contacted")]
    assert moves[0]["user_id"] == "u1" and moves[0]["network_id"] == "net-1"
    assert moves[0]["lead_id"] == lead and "changed_at" in moves[0]


def test_setting_the_same_status_is_a_no_op(h: Harness) -> None:
    lead = deliver(h, owner_id="u1")
    h.run(one_lead.change_status, "u1", lead, "new", actor=U1)
    assert h.events_of("lead_status_changed") == []
    with h.session() as s:
        assert s.execute(select(office_history)).all() == []


def test_admin_pipeline_change_needs_a_remap_for_statuses_holding_leads(h: Harness) -> None:
    clock.freeze(datetime(2025, 6, 2, 9, tzinfo=UTC))
    a = deliver(h, owner_id="u1", i=1)
    b = deliver(h, owner_id="u2", i=2)
    c = deliver(h, owner_id="u1", i=3, network_id="net-2")  # another network: untouched
    for lead, owner, net in ((a, "u1", "net-1"), (b, "u2", "net-1"), (c, "u1", "net-2")):
        h.run(one_lead.change_status, owner, lead, "meeting", actor=user(owner, net))
    new = {"statuses": ["todo", "called", "rdv", "client", "lost"], "initial": "todo",
           "terminal": ["client", "lost"]}
    with pytest.raises(Conflict) as caught:
        h.run(pipelines.replace, "net-1", **new, actor=ADMIN)
    assert caught.value.code == "pipeline_status_in_use" and "meeting" in caught.value.message
    with pytest.raises(Invalid):  # a target that is not in the new pipeline
        h.run(pipelines.replace, "net-1", **new, remap={"meeting": "maybe"}, actor=ADMIN)
    # leads in "new" (none here) need nothing; "meeting" leads move to "rdv"
    out = h.run(pipelines.replace, "net-1", **new, remap={"meeting": "rdv"}, actor=ADMIN)
    assert out["moved"] == 2 and out["version"] == 1 and out["statuses"][0] == "todo"
    with h.session() as s:
        statuses = dict(s.execute(select(office_leads.c.id, office_leads.c.status)).tuples().all())
        hist = s.execute(select(office_history).where(office_history.c.via == "pipeline_change")).all()
    assert {str(k): v for k, v in statuses.items()} == {a: "rdv", b: "rdv", c: "meeting"}
    assert {(r.source, r.actor_id, r.field) for r in hist} == {("admin", "a1", "status")}
    moved = [e for e in h.events_of("lead_status_changed") if e.get("cause") == "pipeline_change"]
    assert {(e["lead_id"], e["old_status"], e["new_status"]) for e in moved} == {
        (a, "meeting", "rdv"), (b, "meeting", "rdv")}
    # the new pipeline rules from now on: new initial status, old statuses unknown
    assert h.run(one_lead.get, "u1", deliver(h, owner_id="u1", i=4), actor=U1)["status"] == "todo"
    with pytest.raises(Invalid):
        h.run(one_lead.change_status, "u1", a, "meeting", actor=U1)
    h.run(one_lead.change_status, "u1", a, "lost", actor=U1)
    # a pipeline edit that only drops empty statuses needs no remap
    out = h.run(pipelines.replace, "net-1", ["todo", "rdv", "lost", "client"], "todo",
                ["client", "lost"], actor=ADMIN)
    assert out["moved"] == 0 and out["version"] == 2


def test_pipeline_validation_and_default(h: Harness) -> None:
    assert h.run(lambda ctx: pipelines.get(ctx.session, "net-9"))["version"] == 0
    with pytest.raises(Invalid) as caught:
        h.run(pipelines.replace, "net-1", ["a", "b"], "b", ["b"], actor=ADMIN)
    assert "initial" in caught.value.fields
    with pytest.raises(Invalid):
        h.run(pipelines.replace, "net-1", "not-a-list", "a", [], actor=ADMIN)


def test_personal_leads_also_start_in_the_initial_status(h: Harness) -> None:
    view = h.run(one_lead.create_personal, "u1", "net-1", raw_lead(5), actor=U1)
    assert view["origin"] == "personal" and view["status"] == "new"
    assert view["refund"] == {"deadline": None, "claim": None}
