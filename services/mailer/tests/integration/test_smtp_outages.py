"""SMTP or accounts down: the event is retried with backoff, then dead-lettered, then
replayable; nothing is lost and the link mailed is one accounts still honours."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from mailer.service import MailerService
from suivi_common import clock
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra
from suivi_common.testing.waiting import broker_queues, broker_settled, wait_for


def invited(links: dict[str, Any], email: str) -> dict[str, Any]:
    ref = str(uuid.uuid4())
    expires_at = (clock.now() + timedelta(days=7)).isoformat()
    links[ref] = {"set_password_url": f"https://app.suivi.test/p?t={uuid.uuid4().hex}",
                  "expires_at": expires_at}
    return {"user_id": str(uuid.uuid4()), "network_id": str(uuid.uuid4()), "email": email,
            "first_name": "Léa", "link_ref": ref, "expires_at": expires_at}


def test_email_arrives_once_smtp_comes_back(clean_db, vhost, smtp_server, config_for, publish,
                                            until, read_ledger, links, fake_accounts) -> None:
    cfg = {**config_for(vhost, clean_db, smtp_server.port),  # nothing listens there yet
           "EVENT_RETRY_DELAYS_MS": [200, 2000, 5000]}  # room to bring SMTP back
    payload = invited(links, "late@example.test")
    with infra.running(cfg, MailerService, fake_accounts):
        mid = publish(cfg["AMQP_URI"], "user_invited", payload)
        # the first attempt failed for sure: its retry queue exists (declared on failure)
        wait_for(lambda: any(name.endswith(".retry.200") for name in broker_queues(vhost)),
                 what="the first attempt refused and scheduled for retry")
        smtp_server.start()
        [got] = until(lambda: smtp_server.to("late@example.test"))
        link = links[payload["link_ref"]]["set_password_url"]
        assert link in got.message.get_body(("plain",)).get_content()
        until(lambda: read_ledger(clean_db))
        until(lambda: broker_settled(vhost), what="every attempt handled")
    assert len(smtp_server.received) == 1
    [row] = read_ledger(clean_db)
    assert row["message_id"] == mid


def test_after_all_retries_a_dead_letter_appears_and_can_be_replayed(
        clean_db, vhost, smtp_server, config_for, publish, until, read_ledger, staff, links,
        fake_accounts) -> None:
    cfg = config_for(vhost, clean_db, smtp_server.port)  # SMTP stays down
    payload = invited(links, "never@example.test")
    with infra.running(cfg, MailerService, fake_accounts):
        mid = publish(cfg["AMQP_URI"], "user_invited", payload)
        with RpcClient(cfg["AMQP_URI"], principal=staff) as rpc:
            [letter] = until(rpc.mailer.list_dead_letters)
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


def test_accounts_down_dead_letters_the_invitation_and_a_replay_sends_it(
        clean_db, vhost, smtp_server, config_for, publish, until, staff, links,
        fake_accounts) -> None:
    """No link without accounts: every attempt fails (nothing is mailed without one), the
    event waits as a dead letter, and once accounts is back a replay mails the link."""
    smtp_server.start()
    cfg = config_for(vhost, clean_db, smtp_server.port)
    payload = invited(links, "patient@example.test")
    with infra.running(cfg, MailerService):
        mid = publish(cfg["AMQP_URI"], "user_invited", payload)
        with RpcClient(cfg["AMQP_URI"], principal=staff) as rpc:
            [letter] = until(rpc.mailer.list_dead_letters)
            assert letter["message_id"] == mid and letter["attempts"] == 4
            assert smtp_server.received == []
            with infra.running(cfg, fake_accounts):
                rpc.mailer.replay_dead_letter(letter["id"])
                [got] = until(lambda: smtp_server.to("patient@example.test"))
    link = links[payload["link_ref"]]["set_password_url"]
    assert link in got.message.get_body(("plain",)).get_content()
