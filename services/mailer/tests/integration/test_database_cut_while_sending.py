"""The database cuts the mailer's connections while an email is on the wire: the email still
reaches the server once, not once more on the event's retry."""
from __future__ import annotations

import uuid
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from mailer.service import MailerService
from suivi_common.testing import infra
from suivi_common.testing.waiting import broker_settled


def terms_notice(email: str) -> dict[str, Any]:
    return {"user_id": str(uuid.uuid4()), "email": email, "first_name": "Léa",
            "version": "2027-06"}


def terminate_connections(db_url: str) -> int:
    """``pg_terminate_backend`` on every other connection to the mailer's database."""
    url = make_url(db_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        return int(conn.execute(
            "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (url.database,)).fetchone()[0])


def test_connections_cut_while_the_server_takes_the_email_send_it_once(
        clean_db, vhost, new_smtp_server, config_for, publish, until, read_ledger) -> None:
    cuts: list[int] = []

    class CuttingServer(new_smtp_server):  # type: ignore[misc, valid-type]
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if not cuts:  # the first email: the database goes away before "250"
                cuts.append(terminate_connections(clean_db))
            return await super().handle_DATA(server, session, envelope)

    smtp = CuttingServer()
    smtp.start()
    try:
        cfg = config_for(vhost, clean_db, smtp.port)
        with infra.running(cfg, MailerService):
            mid = publish(cfg["AMQP_URI"], "terms_notice", terms_notice("cut@example.test"))
            until(lambda: smtp.to("cut@example.test"))
            # the event is done once its inbox row is committed (whatever attempt did it)
            until(lambda: _inbox_has(clean_db, mid))
            until(lambda: broker_settled(vhost), what="every message handled")
    finally:
        smtp.stop()
    assert cuts and cuts[0] > 0  # the cut happened, and hit the mailer's connections
    assert len(smtp.to("cut@example.test")) == 1
    [row] = read_ledger(clean_db)
    assert row["message_id"] == mid


def _inbox_has(db_url: str, message_id: str) -> bool:
    url = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM inbox WHERE message_id = %s",
                            (message_id,)).fetchone() is not None
