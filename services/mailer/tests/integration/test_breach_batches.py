"""A breach's notices handled at the same moment go out in batches (issue 12 section 7):
fewer SMTP connections than emails, and still each controller's notice exactly once, under
its own ``Message-ID``, with its ledger row, its ``notice_recipients`` row and one
``breach_notice_sent`` per request; in the same burst, a refused recipient fails alone
(retried, then reported ``failed``), and a controller without an address or an account
is reported ``failed`` without an email."""
from __future__ import annotations

import uuid
from typing import Any

from mailer.domain import compliance_notices as rules
from mailer.models import metadata, notice_recipients, sent_emails
from mailer.service import MailerService
from suivi_common.testing import infra
from suivi_common.testing.messages import publish_event as publish_signed
from suivi_common.testing.waiting import broker_settled

from .conftest import (
    NOTICE_REPORTS,
    USERS,
    FakeAccounts,
    FakeCompliance,
    FakeLeads,
    SmtpServer,
    mailer_config,
    table_rows,
)

GOOD = 24


class CountingSmtp(SmtpServer):
    """Also notes which connection (the client's address and port) carried each email."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


def _event(breach_id: str, user_id: str) -> dict[str, Any]:
    return {"breach_id": breach_id, "user_id": user_id, "stage": 1,
            "subject": "Violation de données : notification (étape 1)",
            "text": f"Bonjour,\n\nUne violation ({user_id[:8]}).\n"}


def _user(tag: str, email: str | None = None) -> str:
    uid = str(uuid.uuid4())
    USERS[uid] = {"id": uid, "first_name": "Léa", "last_name": "Martin",
                  "email": f"{tag}.{uid[:8]}@example.test" if email is None else email}
    return uid


def test_a_burst_of_notices_goes_out_in_batches_each_exactly_once(db_url, until) -> None:
    infra.truncate_all(db_url, metadata)
    vhost = infra.fresh_vhost()
    server = CountingSmtp()
    server.start()
    cfg = {**mailer_config(vhost, db_url, server.port), "NOTICE_BATCH_LINGER_MS": 150,
           "NOTICE_BATCH": 10}
    breach_id = str(uuid.uuid4())
    good = [_user("ctrl") for _ in range(GOOD)]
    refused, silent, ghost = _user("refus"), _user("sans", email=""), str(uuid.uuid4())
    server.refuse_rcpt.add(USERS[refused]["email"])
    try:
        with infra.running(cfg, MailerService, FakeAccounts, FakeLeads, FakeCompliance):
            uri = cfg["AMQP_URI"]
            for uid in [*good, refused, silent, ghost]:
                mid = publish_signed(uri, "compliance", "breach_notice_requested",
                                     _event(breach_id, uid))
                if uid == good[0]:  # delivered twice: one event
                    publish_signed(uri, "compliance", "breach_notice_requested",
                                   _event(breach_id, uid), mid)
            for uid in good[1:3]:  # requested again: one email, reported sent again
                publish_signed(uri, "compliance", "breach_notice_requested",
                               _event(breach_id, uid))
            until(lambda: all(server.to(USERS[u]["email"]) for u in good), timeout=60,
                  what="every notice at the server")

            def reports() -> list[dict[str, Any]]:
                return [r for r in NOTICE_REPORTS if r["breach_id"] == breach_id]

            until(lambda: len(reports()) == GOOD + 2 + 3, timeout=60, what="every report")
            until(lambda: broker_settled(vhost), what="the burst handled")
            assert len(reports()) == GOOD + 2 + 3
    finally:
        server.stop()
        infra.delete_vhost(vhost)
    for uid in good:
        [got] = server.to(USERS[uid]["email"])
        key = rules.recipient_key(rules.BREACH, breach_id, uid, 1)
        assert got.message["Message-ID"] == f"<{key}.breach_notice@suivi.test>"
    assert not server.to(USERS[refused]["email"])
    assert len(server.received) == GOOD
    assert len(set(server.peers)) < GOOD  # batched: fewer connections than emails
    by_user: dict[str, list[str]] = {}
    for report in reports():
        assert report["stage"] == 1
        by_user.setdefault(report["user_id"], []).append(report["status"])
    assert by_user == {**{u: ["sent"] for u in good}, **{u: ["sent", "sent"] for u in good[1:3]},
                       refused: ["failed"], silent: ["failed"], ghost: ["failed"]}
    rows = {r["user_id"]: r for r in table_rows(db_url, notice_recipients,
                                                 notice_recipients.c.ref_id == breach_id)}
    assert {u: rows[u]["status"] for u in rows} == {
        **{u: "sent" for u in good}, refused: "failed", silent: "failed", ghost: "failed"}
    assert (rows[refused]["reason"], rows[refused]["attempts"]) == ("send_failed", 4)
    assert (rows[silent]["reason"], rows[ghost]["reason"]) == ("no_address", "no_user")
    keys = {str(rules.recipient_key(rules.BREACH, breach_id, u, 1)): u
            for u in [*good, refused, silent, ghost]}
    ledger = [r for r in table_rows(db_url, sent_emails) if r["message_id"] in keys]
    assert sorted(keys[r["message_id"]] for r in ledger) == sorted(good)
    assert {(r["state"], r["kind"]) for r in ledger} == {("sent", "breach_notice")}
