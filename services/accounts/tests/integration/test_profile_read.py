"""``get_me``, the read every web client starts with: one statement, no transaction,
and the same answer the separate reads gave."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from accounts.service import AccountsService
from suivi_common.database import READ_ONLY_MARK
from suivi_common.errors import Forbidden, Unauthorized


@contextmanager
def statements(h: Any) -> Iterator[list[str]]:
    """The statements the service runs meanwhile (the outbox relay's polling left out)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "outbox" not in statement:
            seen.append(statement)

    engine = h.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_everything_in_one_statement(h: Any) -> None:
    network = h.new_network()
    member = h.new_member(network, "bruno@soleil.test")
    level = h.rpc(network["admin"]).create_access_level("Débutant", ["take_leads"])
    h.rpc(network["admin"]).assign_access_level(member["user_id"], level["id"])
    running = h.subscribe_by_transfer(member, "monthly")
    h.wait_event("subscription_activated", lambda p: p["subscription_id"] == running["id"])
    pending = h.rpc(member).create_subscription("annual", "cheque")
    me = h.rpc(member)
    me.get_me()  # the data key is cached from now on
    with statements(h) as seen:
        got = me.get_me()
    assert len(seen) == 1
    assert getattr(AccountsService.get_me, READ_ONLY_MARK)  # and no BEGIN/COMMIT around it
    assert got["subscription"]["id"] == running["id"]  # the running one, not the order
    assert got["subscription"]["status"] == "active"
    assert got["subscription"]["payment"]["status"] == "validated"
    assert got["access_level"]["name"] == "Débutant"
    assert got["terms"] == {"current_version": "2026-01", "accepted": False}
    assert got["first_name"] == "Bruno" and got["email"] == "bruno@soleil.test"
    me.withdraw_subscription(running["id"])  # within 7 days: refunded, ended
    assert me.get_me()["subscription"]["id"] == pending["id"]


def test_a_refused_caller_learns_nothing(h: Any) -> None:
    network = h.new_network()
    member = h.new_member(network, "bruno@soleil.test")
    with pytest.raises(Unauthorized) as err:
        h.rpc(dict(member, role="admin")).get_me()  # a principal whose role changed
    assert err.value.code == "token_revoked"
    with pytest.raises(Unauthorized):
        h.rpc(dict(member, user_id="not-a-uuid")).get_me()
    h.rpc(h.staff()).suspend_user(member["user_id"])
    with pytest.raises(Forbidden):
        h.rpc(member).get_me()
