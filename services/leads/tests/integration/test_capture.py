"""Capture over RPC (the gateway's path): mixed batches, duplicates, keys, encryption."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from leads import testing
from leads.models import contacts, leads, stock
from suivi_common import clock
from suivi_common.errors import Invalid, Unauthorized


def test_mixed_batch_gives_one_result_per_item_in_order(stack: Any) -> None:
    key = stack.new_site_key()
    items = [
        testing.raw_lead(1),
        {"first_name": "Bad"},  # missing everything
        "not an object",
        testing.raw_lead(2, tier="standard"),
        testing.raw_lead(3, email="nope@", mobile="06 00 00 00 03"),
        testing.raw_lead(4, tier="premium"),
    ]
    results = stack.capture(key, items)
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected", "accepted",
                                              "rejected", "accepted"]
    assert "contact" in results[1]["errors"] and "country" in results[1]["errors"]
    assert results[2]["errors"] == {"payload": "must be an object"}
    assert set(results[4]["errors"]) == {"email"}
    assert all("id" in r for r in results if r["status"] == "accepted")
    tiers = dict(stack.rows(select(leads.c.id, leads.c.tier)))
    assert sorted(tiers.values()) == ["premium", "premium_plus", "standard"]
    assert stack.count(stock) == 3


def test_duplicates_by_email_or_phone_within_the_window_are_stored_never_stocked(stack: Any) -> None:
    key = stack.new_site_key()
    first = stack.capture(key, [testing.raw_lead(1), testing.raw_lead(2)])
    assert [r["status"] for r in first] == ["accepted", "accepted"]
    again = stack.capture(key, [
        testing.raw_lead(1, first_name="Other"),  # same email and phone
        testing.raw_lead(900, mobile="06 00 00 00 02"),  # new email, lead 2's phone
        testing.raw_lead(901, tier="standard", email="LEAD2@example.fr"),  # case-folded email
        testing.raw_lead(902, landline="+33600000001", tier="standard"),  # phone in other box
        testing.raw_lead(903),
        testing.raw_lead(903, first_name="Twice in one batch"),
    ])
    assert [r["status"] for r in again] == ["duplicate", "duplicate", "duplicate", "duplicate",
                                            "accepted", "duplicate"]
    dup_of = dict(stack.rows(select(leads.c.id, leads.c.duplicate_of)))
    assert dup_of[__import__("uuid").UUID(again[0]["id"])] == __import__("uuid").UUID(first[0]["id"])
    assert stack.count(leads) == 8  # duplicates are kept for audit
    assert stack.count(leads, leads.c.status == "duplicate") == 5
    assert stack.count(stock) == 3  # ...but never offered for sale


def test_duplicate_window_is_configurable_and_counts_from_the_last_accepted(stack: Any) -> None:
    key = stack.new_site_key()
    start = clock.now()
    assert stack.capture(key, [testing.raw_lead(1)])[0]["status"] == "accepted"
    clock.freeze(start + timedelta(days=89))
    assert stack.capture(key, [testing.raw_lead(1, consent_at=clock.now())])[0]["status"] == "duplicate"
    clock.freeze(start + timedelta(days=90, seconds=1))
    assert stack.capture(key, [testing.raw_lead(1, consent_at=clock.now())])[0]["status"] == "accepted"
    assert stack.count(contacts) == 2  # one email key, one phone key


def test_personal_data_is_encrypted_under_the_platform_scope(stack: Any) -> None:
    key = stack.new_site_key()
    stack.capture(key, [testing.raw_lead(7)])
    row = stack.rows(select(leads))[0]
    assert row.key_scope == "platform"
    assert b"lead7@example.fr" not in row.pii and b"Martin7" not in row.pii
    assert row.email_bidx and row.mobile_bidx and row.landline_bidx is None
    assert json.dumps(row.country) == '"FR"'


def test_bad_key_and_oversized_batch_are_refused(stack: Any) -> None:
    with pytest.raises(Unauthorized):
        stack.capture("lck_wrong", [testing.raw_lead(1)])
    key = stack.new_site_key()
    with pytest.raises(Invalid):
        stack.capture(key, [testing.raw_lead(i) for i in range(1001)])
    with stack.staff() as rpc:
        site = rpc.list_capture_sites()[0]
        assert "key" not in site and site["key_prefix"] == key[:12]
        rpc.revoke_capture_site(site["id"])
    with pytest.raises(Unauthorized):
        stack.capture(key, [testing.raw_lead(1)])


def test_a_full_batch_of_1000_is_accepted(stack: Any) -> None:
    key = stack.new_site_key()
    results = stack.capture(key, [testing.raw_lead(i) for i in range(1000)])
    assert {r["status"] for r in results} == {"accepted"}
    assert stack.count(stock) == 1000
    assert stack.scalar(select(stock.c.tier).limit(1)) == "premium_plus"


def test_cli_publishes_a_jsonl_file_that_the_queue_consumer_stores(stack: Any, tmp_path: Path) -> None:
    from leads import capture_client

    key = stack.new_site_key()
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(stack.uri))
    channel = conn.channel()
    for body, ctype in ((b"{not json", "application/json"), (b"plain", "text/plain")):
        channel.basic_publish("", "leads.capture", body, pika.BasicProperties(
            content_type=ctype, headers={"x-capture-key": key}))  # poison: must not kill
    conn.close()
    path = tmp_path / "leads.jsonl"
    path.write_text("\n".join(json.dumps(testing.raw_lead(i)) for i in range(25)) + "\n\n")
    assert capture_client.main([str(path), "--amqp-uri", stack.uri, "--capture-key", key,
                                "--batch-size", "10"]) == 0
    testing.wait_for(lambda: stack.count(stock) == 25)
    capture_client.main([str(path), "--amqp-uri", stack.uri, "--capture-key", key,
                         "--batch-size", "10"])  # the same file again: same message ids
    testing.wait_for(lambda: testing.broker_settled(stack.vhost, "leads.capture"),
                     what="the replayed file handled")
    assert stack.count(leads) == 25


def test_grading_rules_come_from_config(cfg: dict[str, Any], engine: Engine) -> None:
    from leads.service import LeadsService
    from suivi_common.testing import infra

    rules = {"default": "standard",
             "tiers": [{"tier": "premium", "requires": ["city"]}]}
    with infra.running({**cfg, "GRADING_RULES": rules}, LeadsService):
        from suivi_common.rpc import RpcClient

        with RpcClient(cfg["AMQP_URI"], principal={"user_id": "s", "role": "staff"}) as rpc:
            key = rpc.leads.create_capture_site("A", "https://a.fr")["key"]
            rpc.leads.capture(key, [testing.raw_lead(1, tier="standard"),
                                    testing.raw_lead(2, tier="premium_plus", city=None)])
    with engine.connect() as conn:
        assert sorted(conn.execute(select(leads.c.tier)).scalars()) == ["premium", "standard"]
