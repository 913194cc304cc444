"""Gmail's quota never holds a worker: an email whose slot has not come is deferred (a
``scheduled`` row with a not-before time, no attempt counted) instead of sleeping in the
worker, so the mailer keeps answering while a user's quota is used up, and the deferred
emails leave, once each, when their slots come. Against the fake Google, with a mailer of
three workers: if paced sends slept in workers, the calls below would find none free."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from nameko.rpc import rpc
from sqlalchemy import create_engine, select

from mailer.models import lead_emails
from suivi_common import clock
from suivi_common.auth import CurrentPrincipal, Principal
from suivi_common.errors import EXPECTED_ERRORS, Forbidden, NotFound
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra
from suivi_common.testing.waiting import wait_for

NETWORK = "net-google-tests"
OWNER = "00000000-0000-4000-a000-00000000a11c"
QUOTA = 3


def lead_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012x}"


class QuotaAccounts:
    name = "accounts"
    principal = CurrentPrincipal()

    def _user(self) -> dict[str, Any]:
        return {"id": OWNER, "role": "user", "network_id": NETWORK, "status": "active",
                "first_name": "Léa", "last_name": "Martin", "email": "lea@example.test"}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_user(self, user_id: str) -> dict[str, Any]:
        if user_id != OWNER:
            raise NotFound("No such user")
        return self._user()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def office_active(self, user_id: str) -> bool:
        return user_id == OWNER

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def senders(self, user_ids: list[str]) -> dict[str, Any]:
        if self.principal is None or not self.principal.is_service:
            raise Forbidden("internal", code="internal_only")
        return {u: {"user": self._user(), "office_active": True} for u in user_ids if u == OWNER}


class QuotaLeads:
    name = "leads"
    principal = CurrentPrincipal()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def lead_contact(self, lead: str) -> dict[str, Any]:
        if self.principal is None or not self.principal.is_service:
            raise NotFound("internal")
        i = int(lead[-12:], 16)
        return {"lead_id": lead, "owner_id": OWNER, "network_id": NETWORK,
                "email": f"prospect{i}@example.test", "first_name": "Camille",
                "last_name": f"Nom{i}", "city": "Lille", "status": "new",
                "office_kind": "personal"}


@pytest.fixture
def quota_mailer(run_mailer: Any) -> Iterator[Any]:
    live = run_mailer(GMAIL_SENDS_PER_MINUTE=QUOTA, max_workers=3,
                      LEAD_MAIL_DISPATCH_SECONDS=0.1, LEAD_MAIL_RETRY_SECONDS=[0.2])
    with infra.running(live.cfg, QuotaAccounts, QuotaLeads):
        yield live
    clock.reset()


def rows(db_url: str) -> list[Any]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(lead_emails).order_by(lead_emails.c.created_at)))
    finally:
        engine.dispose()


def waiting(db_url: str) -> list[Any]:
    return [r for r in rows(db_url) if r.status == "scheduled"]


def test_a_used_up_quota_defers_emails_and_every_other_call_still_answers(
        quota_mailer: Any, google_db: str) -> None:
    live = quota_mailer
    assert live.link(OWNER, "lea.martin@gmail.test")["can_send"] is True
    owner = Principal(OWNER, "user", NETWORK)
    n = 2 * QUOTA
    with RpcClient(live.uri, principal=owner) as rpc_client:
        for i in range(n):
            queued = rpc_client.mailer.send_lead_email(lead_id(i), None, f"Sujet {i}", "Bonjour")
            assert queued["status"] == "queued"

    def sent() -> list[Any]:
        return list(live.google.sent)

    wait_for(lambda: len(sent()) == QUOTA, what="the quota's sends at Gmail")
    wait_for(lambda: len(waiting(google_db)) == QUOTA, what="the rest deferred to their slots")
    deferred = waiting(google_db)
    assert all(r.due_at > clock.now() and r.attempts == 0 for r in deferred)
    # the quota is used up and three emails wait: the mailer, three workers in all,
    # answers call after call, and queues another email, while Gmail gets nothing more
    with RpcClient(live.uri, principal=owner) as rpc_client:
        for _ in range(12):
            assert rpc_client.mailer.google_status()["linked"] is True
        rpc_client.mailer.list_lead_emails(lead_id(0))
        assert rpc_client.mailer.send_lead_email(lead_id(n), None, "Encore", "Bonjour")[
            "status"] == "queued"
    assert len(sent()) == QUOTA
    # the slots come (the pacer's clock and the platform's move a minute on)
    pacer = live.channel().pacer
    pacer.now = lambda: time.monotonic() + 61.0
    clock.advance(timedelta(seconds=61))
    wait_for(lambda: len(sent()) == 2 * QUOTA, what="the deferred emails at their slots")
    ids = [str(s.message["Message-ID"]) for s in sent()]
    assert len(set(ids)) == len(ids) == 2 * QUOTA
    # Gmail has them; the mailer records each send just after, in its own transaction
    done = wait_for(lambda: (d if len(d := [r for r in rows(google_db)
                                             if r.status == "sent"]) == 2 * QUOTA else None),
                    what="the deferred emails recorded as sent")
    assert {r.channel for r in done} == {"gmail"}
    assert {r.attempts for r in done} == {1}  # a deferral is no attempt
    # the last one waits for a slot of its own
    wait_for(lambda: len(waiting(google_db)) == 1, what="the seventh deferred again")
    assert len(rows(google_db)) == 2 * QUOTA + 1
