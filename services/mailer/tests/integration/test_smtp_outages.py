"""SMTP down: the event is retried with backoff, then dead-lettered, then replayable."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from nameko.standalone.rpc import ClusterRpcClient

from mailer.service import MailerService
from suivi_common import clock
from suivi_common.testing import infra


def invited(email: str) -> dict[str, Any]:
    return {"user_id": str(uuid.uuid4()), "network_id": str(uuid.uuid4()), "email": email,
            "first_name": "Léa", "set_password_url": f"https://app.suivi.test/p?t={uuid.uuid4().hex}",
            "expires_at": (clock.now() + timedelta(days=7)).isoformat()}


def test_email_arrives_once_smtp_comes_back(clean_db, vhost, smtp_server, config_for, publish,
                                            until, read_ledger) -> None:
    cfg = config_for(vhost, clean_db, smtp_server.port)  # nothing listens there yet
    payload = invited("late@example.test")
    with infra.running(cfg, MailerService):
        published = time.monotonic()
        mid = publish(cfg["AMQP_URI"], "user_invited", payload)
        time.sleep(0.3)  # first attempt refused; the 200 ms retry too (probably)
        smtp_server.start()
        [got] = until(lambda: smtp_server.to("late@example.test"))
        assert got.at - published >= 0.2  # it came through a retry, not the first attempt
        assert payload["set_password_url"] in got.message.get_body(("plain",)).get_content()
        until(lambda: read_ledger(clean_db))
        time.sleep(0.3)
    assert len(smtp_server.received) == 1
    [row] = read_ledger(clean_db)
    assert row["message_id"] == mid


def test_after_all_retries_a_dead_letter_appears_and_can_be_replayed(
        clean_db, vhost, smtp_server, config_for, publish, until, read_ledger, staff) -> None:
    cfg = config_for(vhost, clean_db, smtp_server.port)  # SMTP stays down
    payload = invited("never@example.test")
    with infra.running(cfg, MailerService):
        mid = publish(cfg["AMQP_URI"], "user_invited", payload)
        with ClusterRpcClient(context_data=staff, uri=cfg["AMQP_URI"]) as rpc:
            [letter] = until(rpc.mailer.list_dead_letters, timeout=15)
            assert letter["message_id"] == mid
            assert letter["handler"] == "mailer.on_user_invited"
            assert letter["attempts"] == 4  # the first try + 3 retries
            assert "unreachable" in letter["error"]
            assert "never@example.test" not in letter["error"]
            assert read_ledger(clean_db) == []  # nothing recorded for a mail not sent

            smtp_server.start()
            rpc.mailer.replay_dead_letter(letter["id"])
            [got] = until(lambda: smtp_server.to("never@example.test"))
            assert got.message["Message-ID"] == f"<{mid}.invitation@suivi.test>"
            assert rpc.mailer.list_dead_letters() == []
