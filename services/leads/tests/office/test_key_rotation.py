"""Rotating a network's data key while leads are written: nothing is lost, every row
opens, none is left under the old version, and look-ups by blind index keep working.

The rotation runs through the leads RPCs (``tools.rotate_data_key.rotate``, as the tool
drives them) while a writer, another leads process in effect (its own key ring, whose
cached keys it drops before each write, so it picks the new version up at once), keeps
selling leads of the same network under its key."""
from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from leads import office_testing as testing
from leads import testing as leads_testing
from leads.models import common, leads, metadata
from leads.rotation_entrypoints import KeyRotationEntrypoints
from leads.usecases.capture import lead_blind_indexes
from leads.usecases.office.context import office_scope
from suivi_common import clock
from suivi_common.crypto import KeyRing, Vault, key_id, sealed_key_id
from suivi_common.database import Database
from suivi_common.identity import Principal
from suivi_common.rpc import RpcClient
from suivi_common.service_base import PlatformService
from suivi_common.testing import infra
from tools.rotate_data_key import rotate

NET = "net-rot"
STAFF = Principal("staff-1", "staff")


class RotationTestService(KeyRotationEntrypoints, PlatformService):
    name = "leads"
    db = Database(common)


@pytest.fixture(scope="module")
def rot_stack() -> Iterator[infra.Stack]:
    url = infra.fresh_database("leads_rotation_svc", leads_testing.MIGRATIONS)
    with infra.running_on(url, RotationTestService,
                          SUIVI_MASTER_KEY=testing.TEST_MASTER_KEY_B64) as running:
        infra.truncate_all(running.engine, metadata)
        yield running
    clock.reset()


def network_key_ids(engine: Any) -> list[bytes]:
    with Session(engine) as s:
        return [key_id(k) for k in KeyRing(testing.TEST_MASTER_KEY, common, engine)
                .data_keys(s, NET, create=False)]


def test_a_rotation_under_concurrent_writes_loses_nothing(rot_stack: infra.Stack) -> None:
    engine = rot_stack.engine
    ring = KeyRing(testing.TEST_MASTER_KEY, common, engine)
    written: list[uuid.UUID] = []

    def sell(i: int) -> None:
        with Session(engine) as s:
            payload = testing.sell(s, Vault(ring, s), owner_id="u1", network_id=NET,
                                   plan_id="plan-1", raw=testing.raw_lead(i),
                                   delivered_at=clock.now(), scope=NET)
            s.commit()
        written.append(uuid.UUID(payload["lead_id"]))

    for i in range(1200):  # more than two batches of 500
        sell(i)
    # a controller key that the network's key wraps
    with Session(engine) as s:
        vault = Vault(ring, s)
        vault.encrypt(office_scope(NET, "u2"), "t", "c", 1, "x")
        s.commit()
    [old] = network_key_ids(engine)

    stop = threading.Event()

    def write() -> None:
        i = 10_000
        while not stop.is_set() or i < 10_050:
            ring.forget()  # another process whose cache just expired
            sell(i)
            i += 1

    writer = threading.Thread(target=write)
    writer.start()
    steps: list[dict[str, Any]] = []
    try:
        with RpcClient(rot_stack.cfg["AMQP_URI"], principal=STAFF, timeout=120) as rpc:
            result = rotate(rpc.leads, NET, wait=1.0, report=steps.append)
    finally:
        stop.set()
        writer.join(timeout=120)
    assert result["done"] and result["retired_versions"] == 1, steps
    assert sum(s.get("resealed", 0) for s in steps) >= 1200
    assert len(written) >= 1250

    [new] = network_key_ids(engine)
    assert new != old
    fresh = KeyRing(testing.TEST_MASTER_KEY, common, engine)  # another process, cold
    with Session(engine) as s:
        vault = Vault(fresh, s)
        rows = s.execute(select(leads).where(leads.c.key_scope == NET)).all()
        assert {r.id for r in rows} == set(written)  # nothing lost
        indexed = 0
        for r in rows:
            assert sealed_key_id(bytes(r.pii)) == new
            data = json.loads(vault.decrypt(NET, "leads", "pii", r.id, r.pii) or "null")
            assert data["email"] == f"lead{int(data['last_name'][6:])}@example.fr"
            if r.email_bidx is not None:  # resealed rows (``sell`` writes none)
                assert bytes(r.email_bidx) == lead_blind_indexes(vault, NET, data)["email_bidx"]
                indexed += 1
        assert indexed >= 1200
        assert vault.decrypt(office_scope(NET, "u2"), "t", "c", 1, Vault(ring, s).encrypt(
            office_scope(NET, "u2"), "t", "c", 1, "y")) == "y"


def test_only_a_network_key_rotates_and_only_for_staff(rot_stack: infra.Stack) -> None:
    from suivi_common.errors import Forbidden, Invalid
    with RpcClient(rot_stack.cfg["AMQP_URI"], principal=STAFF) as rpc:
        for bad in ("platform", "net-1/abc", ""):
            with pytest.raises(Invalid):
                rpc.leads.begin_data_key_rotation(bad)
    with RpcClient(rot_stack.cfg["AMQP_URI"], principal=Principal("u1", "user", NET)) as rpc:
        with pytest.raises(Forbidden):
            rpc.leads.begin_data_key_rotation(NET)
