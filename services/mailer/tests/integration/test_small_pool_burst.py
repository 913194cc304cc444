"""A burst of system emails and breach notices with a small database pool: every worker
busy at once, each waiting on a slow SMTP server, must still finish with no pool timeout
(``QueuePool limit ... reached``). A worker needs one pooled connection at a time, never
two, and holds none while it talks to SMTP."""
from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from mailer.models import metadata
from mailer.service import MailerService
from suivi_common import events
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
)

BURST = 40
WORKERS = 20


class SlowSmtp(SmtpServer):
    """Takes a while over each email, so the burst's workers all wait on SMTP together."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.1)
        return await super().handle_DATA(server, session, envelope)


def test_a_burst_completes_with_a_small_pool(db_url, until, caplog) -> None:
    caplog.set_level(logging.WARNING)
    infra.truncate_all(db_url, metadata)
    vhost = infra.fresh_vhost()
    server = SlowSmtp()
    server.start()
    # one pooled connection and the library's overflow of 10: fewer than the workers
    cfg = {**mailer_config(vhost, db_url, server.port), "DB_POOL_SIZE": 1,
           "max_workers": WORKERS}
    terms = [f"burst.{uuid.uuid4().hex[:8]}@example.test" for _ in range(BURST)]
    breach_id = str(uuid.uuid4())
    controllers = []
    for i in range(BURST // 2):
        uid = str(uuid.uuid4())
        USERS[uid] = {"id": uid, "email": f"ctrl.{i}.{uuid.uuid4().hex[:6]}@example.test",
                      "first_name": "Léa", "last_name": "Martin"}
        controllers.append(uid)
    try:
        with infra.running(cfg, MailerService, FakeAccounts, FakeLeads, FakeCompliance):
            uri = cfg["AMQP_URI"]
            for email in terms:
                publish_signed(uri, "accounts", "terms_notice", events.example(
                    "terms_notice", email=email, first_name="Léa", version="2026-12"))
            for uid in controllers:
                publish_signed(uri, "compliance", "breach_notice_requested", {
                    "breach_id": breach_id, "user_id": uid, "stage": 1,
                    "subject": "Violation de données", "text": "Bonjour,\n\nUne violation."})
            until(lambda: all(server.to(e) for e in terms)
                  and all(server.to(USERS[u]["email"]) for u in controllers),
                  timeout=120, what="every email of the burst")
            until(lambda: broker_settled(vhost), what="the burst handled")
            assert all(len(server.to(e)) == 1 for e in terms)
            assert all(len(server.to(USERS[u]["email"])) == 1 for u in controllers)
            reports = [r for r in NOTICE_REPORTS if r["breach_id"] == breach_id]
            until(lambda: len([r for r in NOTICE_REPORTS if r["breach_id"] == breach_id])
                  >= len(controllers), what="every notice reported")
            assert {r["status"] for r in reports} <= {"sent"}
    finally:
        server.stop()
        infra.delete_vhost(vhost)
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "QueuePool limit" not in logs
    assert "TimeoutError" not in logs
