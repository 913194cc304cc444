"""Event contracts (``suivi_common.events``): an undeclared event or a payload that breaks
its contract is refused where it is written (``outbox.emit``), and, in dev and test, where
the relay reads it (rows written set-based in SQL). Real PostgreSQL for the relay."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import nameko
import pytest
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.engine import Engine

from suivi_common import events, outbox
from suivi_common.tables import define_common_tables
from suivi_common.testing import infra

metadata = MetaData()
common = define_common_tables(metadata)
URL = infra.test_db_url("common_events")


class Untouched:
    """A session that must not be written to: the refusal comes first."""

    def execute(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the event was written")

    info: dict[str, Any] = {}


def test_emit_refuses_an_undeclared_event() -> None:
    with pytest.raises(events.ContractError, match="'lead_sold' is not declared"):
        outbox.emit(Untouched(), common, "lead_sold", {"lead_id": "l1"})  # type: ignore[arg-type]


def closed(**changes: Any) -> dict[str, Any]:
    """A ``plan_day_closed`` payload with ``changes`` (``...`` leaves a field out)."""
    payload = {"plan_id": "p1", "date": "2025-03-04", "taken": 3, "shortfall": 0}
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not ...}


@pytest.mark.parametrize(("payload", "problem"), [
    (closed(taken=...), "taken is missing"),
    (closed(taken="3"), "taken is str, not int"),
    (closed(taken=True), "taken is bool, not int"),
    (closed(plan_id=None), "plan_id is NoneType, not id"),
    (closed(date="04/03/2025"), "date is str, not date"),
    (closed(date="2025-03-04T10:00:00"), "date is str, not date"),
    (closed(forfeit=2), "forfeit is not declared"),
])
def test_emit_refuses_a_payload_that_breaks_its_contract(payload: dict[str, Any],
                                                          problem: str) -> None:
    with pytest.raises(events.ContractError, match=f"plan_day_closed payload .*{problem}"):
        outbox.emit(Untouched(), common, "plan_day_closed", payload)  # type: ignore[arg-type]


def test_refusals_name_fields_never_values() -> None:
    with pytest.raises(events.ContractError) as refused:
        events.validate("terms_notice", events.example("terms_notice", email=["j@example.fr"],
                                                       password="hunter2"))
    assert "email is list, not str" in str(refused.value)
    assert "password is not declared" in str(refused.value)
    assert "hunter2" not in str(refused.value) and "j@example.fr" not in str(refused.value)


def test_optional_and_nullable_fields() -> None:
    approved = events.example("absence_approved", network_id=None)
    assert "comment" not in approved and approved["network_id"] is None
    events.validate("absence_approved", dict(approved, comment=None, plan_reopened=True))
    with pytest.raises(events.ContractError, match="plan_reopened is NoneType, not bool"):
        events.validate("absence_approved", dict(approved, plan_reopened=None))


def test_example_builds_a_valid_payload_and_checks_its_overrides() -> None:
    sent = events.example("lead_email_sent", subject="Bonjour")
    assert sent["subject"] == "Bonjour" and sent["channel"] == "smtp"
    assert uuid.UUID(sent["email_id"]) and sent["email_id"] != sent["lead_id"]
    events.validate("lead_email_sent", sent)
    with pytest.raises(events.ContractError, match="sent_at is int, not datetime"):
        events.example("lead_email_sent", sent_at=0)
    for event in events.CATALOGUE.values():  # every entry can be built
        events.validate(event.name, events.example(event.name))


def test_unconsumed_and_not_emitted_events_are_listed() -> None:
    assert "stock_short" in {e.name for e in events.unconsumed()}
    assert "plan_changed" not in {e.name for e in events.unconsumed()}
    assert "leads_exported" in {e.name for e in events.not_emitted()}


def test_a_catalogue_entry_with_an_unknown_type_is_refused() -> None:
    with pytest.raises(events.ContractError, match="field n: unknown type 'integer'"):
        events.load('[x]\nversion = 1\nemitted_by = []\nconsumed_by = []\ndoc = ""\n'
                    'fields.n = "integer"\n')


# --- the relay, for rows written in SQL (dev and test) ---------------------------------------

@pytest.fixture
def engine() -> Iterator[Engine]:
    with infra.schema_engine(URL, metadata) as engine:
        yield engine


def insert_rows(engine: Engine, *rows: tuple[str, dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for event_type, payload in rows:
            conn.execute(text("INSERT INTO outbox (id, event_type, payload, headers) "
                              "VALUES (gen_random_uuid(), :t, CAST(:p AS jsonb), '{}')"),
                         {"t": event_type, "p": json.dumps(payload)})


def test_in_test_the_relay_publishes_nothing_of_a_batch_with_a_bad_row(engine: Engine) -> None:
    insert_rows(engine, ("plan_day_closed", closed()), ("plan_day_closed", closed(taken="3")))
    relay = outbox.OutboxRelay(engine, common, "leads", "amqp://guest:guest@127.0.0.1:1/none")
    with pytest.raises(events.ContractError, match="taken is str, not int"):
        relay.publish_pending()  # no broker needed: nothing was published
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(common.outbox)).scalar_one() == 2


def test_in_production_the_relay_leaves_the_check_to_emit(engine: Engine,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUIVI_ENV", "prod")
    # nameko's config wins over the environment: a container test earlier in the process
    # may have left ``SUIVI_ENV: test`` there
    with nameko.config.patch({"SUIVI_ENV": "prod"}):
        relay = outbox.OutboxRelay(engine, common, "leads",
                                   "amqp://guest:guest@127.0.0.1:1/none")
    assert relay.check_contracts is False
