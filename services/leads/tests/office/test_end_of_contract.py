"""Controller keys and the end of contract (annex IV.12), on a real database: rows written
before controller keys are read under the network's key, re-keyed to their owner's in
batches, and the end of contract returns then destroys exactly one controller's data."""
from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from leads.models import common, office_leads, office_notes
from leads.office_testing import (
    Harness,
    SeparateCtx,
    bulk_rows,
    deliver,
    insert_rows,
    paris,
    raw_lead,
    stored_lead,
    user,
)
from leads.usecases import site_capture
from leads.usecases.office import controller_keys, end_of_contract, one_lead, queries
from suivi_common import clock
from suivi_common.crypto import KeyDestroyed, KeyRing, Vault, controller_scope
from suivi_common.errors import Invalid

T = office_leads
U1 = controller_scope("net-1", "u1")  # u1's key in net-1


def legacy_leads(h: Harness, owner: str, n: int, network: str = "net-1") -> list[Any]:
    """Office rows as written before controller keys: under the network's key."""
    with h.session() as s:
        rows = bulk_rows(h.vault(s), owner_id=owner, network_id=network, items=[
            (stored_lead(raw_lead(i)), "personal", "new", clock.now(), None)
            for i in range(n)])
        insert_rows(s, rows)
        s.commit()
    return [r["id"] for r in rows]


def scopes(h: Harness, owner: str) -> list[str | None]:
    with h.session() as s:
        return list(s.execute(select(T.c.key_scope).where(T.c.owner_id == owner)
                              .order_by(T.c.id)).scalars())


def emails_found(h: Harness, owner: str, email: str) -> int:
    page = h.run(queries.list_leads, owner, "net-1", {"email": email}, None, None, 50)
    return len(page["items"])


def test_new_office_rows_are_under_their_owners_key(h: Harness) -> None:
    clock.freeze(paris(2026, 3, 2, 10))
    deliver(h, owner_id="u1", i=1)
    assert scopes(h, "u1") == [U1]
    assert emails_found(h, "u1", raw_lead(1)["email"]) == 1


def test_legacy_rows_are_read_then_moved_to_the_owners_key(h: Harness) -> None:
    clock.freeze(paris(2026, 3, 2, 10))
    ids = legacy_leads(h, "u1", 3)
    h.run(one_lead.add_note, "u1", ids[0], "rappeler lundi", actor=user("u1"))
    assert scopes(h, "u1") == [None, None, None]
    before = h.run(one_lead.get, "u1", ids[0])
    assert emails_found(h, "u1", raw_lead(0)["email"]) == 1

    assert h.run(controller_keys.rekey_batch, 2) == 2  # in batches
    assert h.run(controller_keys.rekey_batch, 2) == 1
    assert h.run(controller_keys.rekey_batch, 2) == 0  # resumable, then a no-op
    assert h.run(controller_keys.done)
    assert scopes(h, "u1") == [U1] * 3
    after = h.run(one_lead.get, "u1", ids[0])
    assert {k: v for k, v in after.items() if k != "updated_at"} == \
        {k: v for k, v in before.items() if k != "updated_at"}
    assert emails_found(h, "u1", raw_lead(0)["email"]) == 1  # search keys re-hashed
    with h.session() as s:
        row = s.execute(select(T).where(T.c.id == ids[0])).one()
        note = s.execute(select(office_notes).where(office_notes.c.lead_id == ids[0])).one()
        vault = h.vault(s)
        with pytest.raises(InvalidTag):  # no longer under the network's key
            vault.decrypt("net-1", "office_leads", "data", row.id, row.data)
        assert vault.decrypt(U1, "office_notes", "text", note.id,
                             note.text) == "rappeler lundi"


def collect(h: Harness, owner: str, contract: str = "c-1") -> dict[str, Any]:
    h.events.clear()
    h.run(end_of_contract.on_data_requested, {"contract_id": contract, "user_id": owner})
    (report,) = h.events_of("controller_data_reported")
    return report


def test_the_archive_data_holds_every_category_of_the_controller_only(h: Harness) -> None:
    clock.freeze(paris(2026, 3, 2, 10))
    ids = legacy_leads(h, "u1", 2)  # still under the network's key: re-keyed first
    deliver(h, owner_id="u1", i=5)
    deliver(h, owner_id="u2", i=6)
    h.run(one_lead.add_note, "u1", ids[0], "client chaud", actor=user("u1"))
    h.run(one_lead.update_lead, "u1", ids[1], {"city": "Lyon"}, actor=user("u1"))
    report = collect(h, "u1")
    assert report["service"] == "leads" and report["user_id"] == "u1"
    data = report["data"]
    assert len(data["leads"]) == 3
    assert {r["record"]["email"] for r in data["leads"]} == {
        raw_lead(i)["email"] for i in (0, 1, 5)}
    assert [n["text"] for n in data["notes"]] == ["client chaud"]
    assert any(e["field"] == "city" and e["new"] == "Lyon" for e in data["history"])
    assert report["records"] == sum(len(v) for v in data.values())
    assert scopes(h, "u1") == [U1] * 3
    json.dumps(report)  # an event payload


def test_the_shred_destroys_one_controller_backups_included_and_only_once(h: Harness) -> None:
    clock.freeze(paris(2026, 3, 2, 10))
    mine = deliver(h, owner_id="u1", i=1)
    h.run(one_lead.add_note, "u1", mine, "note", actor=user("u1"))
    theirs = deliver(h, owner_id="u2", i=2)
    with h.session() as s:  # what a backup taken now holds
        backup = s.execute(select(T).where(T.c.id == mine)).one()
        wrapped = s.execute(select(common.data_keys).where(
            common.data_keys.c.scope == U1)).one()
    h.events.clear()
    h.run(end_of_contract.on_shred_requested, {"contract_id": "c-1", "user_id": "u1"})
    (report,) = h.events_of("controller_data_shredded")
    assert report["counts"]["leads"] == 1 and report["counts"]["notes"] == 1
    assert [k["scope"] for k in report["keys"]] == [U1]
    assert len(report["keys"][0]["key_id"]) == 32
    erased = h.events_of("office_leads_erased")
    assert [(e["user_id"], e["reason"]) for e in erased] == [("u1", "end_of_contract")]

    # the backup's copy: the controller's key is gone, even to a process with a cold cache
    with h.session() as s:
        fresh = Vault(KeyRing(h.ring._master, common), s)
        with pytest.raises(KeyDestroyed):
            fresh.decrypt(backup.key_scope, "office_leads", "data", backup.id, backup.data)
        live = s.execute(select(T).where(T.c.id == mine)).one()
        assert live.data is None and live.lead_key is None and live.email_bidx is None
        assert live.erased_reason == "end_of_contract"
        assert wrapped.wrapped_key is not None
    # the network's other controller is untouched
    assert h.run(one_lead.get, "u2", theirs)["email"] == raw_lead(2)["email"]

    # a repeat reports the same, without acting; a later collection is refused clearly
    h.events.clear()
    h.run(end_of_contract.on_shred_requested, {"contract_id": "c-1", "user_id": "u1"})
    (again,) = h.events_of("controller_data_shredded")
    assert again == report and not h.events_of("office_leads_erased")
    late = collect(h, "u1")
    assert "data" not in late and "destroyed" in late["error"]
    # a lead sold to them afterwards is filed empty, never under a re-created key
    deliver(h, owner_id="u1", i=3)
    with h.session() as s:
        assert s.execute(select(T.c.data).where(T.c.owner_id == "u1",
                                                T.c.data.is_not(None))).first() is None


def test_a_task_that_names_no_one_is_refused(h: Harness) -> None:
    with pytest.raises(Invalid):
        h.run(end_of_contract.on_shred_requested, {"contract_id": "c-1"})


def test_the_archive_returns_the_site_consents_of_the_controllers_leads(h: Harness) -> None:
    clock.freeze(paris(2026, 3, 2, 10))
    lead_id = h.run(site_capture.capture_from_site, SeparateCtx(h.engine).separate,
                    lambda user_id: None, owner_id="u1", network_id="net-1",
                    kind="distribution", page_id="page-1",
                    fields={"first_name": "Jeanne", "last_name": "Visiteur",
                            "email": "jeanne.visiteur@example.fr", "country": "FR"},
                    notice_text="Mention v2", notice_version="v2",
                    source_url="https://suivi.example/s/u1/", client_ip=None)["lead_id"]
    data = collect(h, "u1")["data"]
    assert [(c["lead_id"], c["notice_text"], c["notice_version"], c["kind"])
            for c in data["consents"]] == [(lead_id, "Mention v2", "v2", "distribution")]
