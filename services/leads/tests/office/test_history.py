"""Edit history: every path that changes a lead writes it; nobody can change it, not even
with SQL; the record as delivered stays as delivered."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from leads.domain.history import ChangeSource
from leads.models import office_history, office_leads
from leads.office_testing import Harness, deliver, user
from leads.usecases.office import one_lead, pipelines
from leads.usecases.office.context import Actor
from suivi_common import clock
from suivi_common.crypto import seal

U1 = user("u1")
ADMIN = Actor("a1", ChangeSource.ADMIN, "net-1")
COMPLIANCE = Actor("c1", ChangeSource.STAFF)


def history(h: Harness, lead: str) -> list[dict[str, Any]]:
    return h.run(one_lead.lead_history, "u1", lead, None, 100, actor=U1)["items"]


def test_every_edit_path_writes_history(h: Harness) -> None:
    lead = deliver(h, owner_id="u1")
    h.run(one_lead.update_lead, "u1", lead, {"city": "Lyon", "postal_code": "69003"}, actor=U1)
    h.run(one_lead.change_status, "u1", lead, "contacted", actor=U1)
    h.run(one_lead.add_note, "u1", lead, "Rappeler lundi, intéressée", actor=U1)
    h.run(pipelines.replace, "net-1", ["new", "called", "client"], "new", ["client"],
          remap={"contacted": "called"}, actor=ADMIN)
    items = history(h, lead)
    assert [(i["field"], i["old"], i["new"], i["source"], i["via"], i["actor_id"]) for i in items] == [
        ("city", "Paris", "Lyon", "user", "edit", "u1"),
        ("postal_code", "75011", "69003", "user", "edit", "u1"),
        ("status", "new", "contacted", "user", "status", "u1"),
        ("note", None, "Rappeler lundi, intéressée", "user", "note", "u1"),
        ("status", "contacted", "called", "admin", "pipeline_change", "a1"),
    ]
    assert all(i["changed_at"] and not i["redacted"] for i in items)
    view = h.run(one_lead.get, "u1", lead, actor=U1)
    assert view["city"] == "Lyon" and view["initial"]["city"] == "Paris"  # as delivered
    assert view["edited_by_user"] is True


def test_history_values_are_encrypted_at_rest(h: Harness) -> None:
    lead = deliver(h, owner_id="u1")
    h.run(one_lead.update_lead, "u1", lead, {"last_name": "Zyxwvutsr"}, actor=U1)
    with h.session() as s:
        raw = s.execute(text("SELECT old_value, new_value FROM office_history")).one()
        blobs = s.execute(text("SELECT data, initial_data FROM office_leads")).one()
    for blob in (*raw, *blobs):
        assert b"Zyxwvutsr" not in bytes(blob) and b"Martin" not in bytes(blob)


def test_paging_history(h: Harness) -> None:
    lead = deliver(h, owner_id="u1")
    for n in range(5):
        h.run(one_lead.add_note, "u1", lead, f"note {n}", actor=U1)
    first = h.run(one_lead.lead_history, "u1", lead, None, 3, actor=U1)
    second = h.run(one_lead.lead_history, "u1", lead, first["next_cursor"], 3, actor=U1)
    assert [i["new"] for i in first["items"] + second["items"]] == [f"note {n}" for n in range(5)]
    assert second["next_cursor"] is None


def test_history_sealed_before_the_common_aad_still_opens(h: Harness) -> None:
    """The office once bound history values with its own AAD helper, spelled out here:
    ``crypto.aad`` gives the same bytes, so rows written before it was used still open."""
    lead = deliver(h, owner_id="u1")
    hid = uuid.uuid4()
    with h.session() as s:
        row = s.execute(select(office_leads).where(office_leads.c.id == uuid.UUID(lead))).one()
        key = one_lead.lead_key(h.vault(s), row)
        s.execute(insert(office_history).values(
            id=hid, lead_id=row.id, field="city", actor_id="u1", source="user", via="edit",
            changed_at=clock.now(),
            old_value=seal(key, json.dumps("Lyon").encode(), f"office_history.old_value:{hid}".encode()),
            new_value=seal(key, json.dumps("Nice").encode(), f"office_history.new_value:{hid}".encode())))
        s.commit()
    [item] = [i for i in history(h, lead) if i["id"] == str(hid)]
    assert (item["old"], item["new"], item["redacted"]) == ("Lyon", "Nice", False)


def test_history_cannot_be_changed_even_in_sql(h: Harness) -> None:
    lead = deliver(h, owner_id="u1")
    h.run(one_lead.change_status, "u1", lead, "contacted", actor=U1)
    for statement in (update(office_history).values(source="system"), delete(office_history)):
        with h.session() as s, pytest.raises(DBAPIError) as caught:
            s.execute(statement)
        assert "append-only" in str(caught.value)
    assert len(history(h, lead)) == 1


def test_the_initial_record_cannot_be_rewritten_in_sql(h: Harness) -> None:
    lead = deliver(h, owner_id="u1")
    with h.session() as s, pytest.raises(DBAPIError) as caught:
        s.execute(update(office_leads).values(initial_data=b"\x01forged"))
    assert "immutable" in str(caught.value)
    for column in ("origin", "delivered_at", "plan_id"):
        with h.session() as s, pytest.raises(DBAPIError):
            s.execute(text(f"UPDATE office_leads SET {column} = NULL"))
    assert h.run(one_lead.get, "u1", lead, actor=U1)["initial"]["email"] == "lead0@example.fr"


def test_deletion_and_erasure_are_recorded_and_shred_the_values(h: Harness) -> None:
    kept = deliver(h, owner_id="u1", i=1)
    gone = deliver(h, owner_id="u1", i=2)
    h.run(one_lead.update_lead, "u1", kept, {"city": "Lyon"}, actor=U1)
    h.run(one_lead.update_lead, "u1", gone, {"city": "Nice"}, actor=U1)
    h.run(one_lead.erase, kept, actor=COMPLIANCE)
    h.run(one_lead.delete_lead, "u1", gone, actor=U1)
    items = history(h, kept)
    assert [(i["field"], i["via"], i["source"]) for i in items] == [
        ("city", "edit", "user"), ("record", "erasure", "staff")]
    assert items[0]["old"] is None and items[0]["redacted"] is True  # crypto-shredded
    view = h.run(one_lead.get, "u1", kept, actor=U1)
    assert view["erased"] and view["email"] is None and view["initial"] is None
    with h.session() as s:
        rows = s.execute(select(office_history.c.via, office_history.c.actor_id)
                         .where(office_history.c.lead_id == gone)).all()
    assert [tuple(r) for r in rows] == [("edit", "u1"), ("delete", "u1")]
    assert h.events_of("lead_erased")[0]["lead_id"] == kept
