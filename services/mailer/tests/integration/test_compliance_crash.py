"""A mailer killed in the middle of a sub-processor notice's fan-out: its replacement sends
every controller's notice, each once (the one cut mid-send again, under its Message-ID).
A module of its own: its private SMTP server cannot run beside the shared one."""
from __future__ import annotations

import uuid
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from mailer.models import notice_recipients


def change_event(change_id: str) -> dict[str, Any]:
    return {"change_id": change_id, "kind": "add", "subprocessor": {"id": "sp", "name": "H"},
            "replaces": None, "effective_from": "2026-12-31",
            "subject": "Changement de sous-traitant ultérieur", "text": "Bonjour,\n\nH.\n"}


def address_of(user: Any, users: dict[str, dict[str, Any]]) -> str:
    return str(users[user.user_id]["email"])


def drop_connections(db_url: str) -> None:
    """What the death of a process does to its database connections (a container killed in
    this process leaves them open, its transactions and locks with them)."""
    url = make_url(db_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (url.database,))


def test_a_mailer_killed_mid_fanout_is_replaced_and_each_controller_gets_the_notice(
        private_mailer, office_in, compliance_of, users, until, read_rows) -> None:
    first = private_mailer.start_mailer()
    live = private_mailer.live
    office = office_in(live)
    compliance = compliance_of(live)
    controllers = [office.member(f"C{i}") for i in range(4)]
    for who in controllers:
        compliance.controller(who)
    held = address_of(controllers[0], users)
    live.smtp.hold.add(held)
    change_id = str(uuid.uuid4())
    compliance.publish("subprocessor_change_announced", change_event(change_id))
    [on_the_wire] = until(lambda: live.smtp.to(held), what="one notice on the wire")
    first.kill()  # between the server's data and its reply
    drop_connections(live.db_url)
    live.smtp.hold.clear()
    private_mailer.start_mailer()
    until(lambda: all(live.smtp.to(address_of(w, users)) for w in controllers),
          what="every controller's notice")
    until(lambda: all(r["status"] == "sent" for r in read_rows(
        live.db_url, notice_recipients, notice_recipients.c.ref_id == change_id)))
    until(live.settled)
    copies = live.smtp.to(held)  # cut between the server's data and its reply: sent again
    assert [c.message["Message-ID"] for c in copies] == [on_the_wire.message["Message-ID"]] * 2
    for who in controllers[1:]:  # each once, or once more under its Message-ID if the kill
        got = live.smtp.to(address_of(who, users))  # caught it on the wire too
        assert 1 <= len(got) <= 2 and len({c.message["Message-ID"] for c in got}) == 1
