"""Data-subject request rules: deadline, extensions, states, what is (re)sent, reports."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from compliance.domain import requests as rules
from compliance.domain.requests import Kind, RuleError, Status, TaskState, TaskStatus

HOUR = timedelta(hours=1)


def test_due_one_month_after_receipt_on_the_last_day_of_a_short_month() -> None:
    assert rules.due_on(datetime(2026, 1, 31, 10, tzinfo=UTC)) == date(2026, 2, 28)
    assert rules.due_on(datetime(2028, 1, 31, 10, tzinfo=UTC)) == date(2028, 2, 29)


def test_the_day_of_receipt_is_the_paris_day() -> None:
    # 23:30 UTC on 31 January is already 1 February in Paris
    assert rules.due_on(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == date(2026, 3, 1)


def test_extensions_count_from_the_day_of_receipt() -> None:
    received = datetime(2026, 1, 31, 10, tzinfo=UTC)
    assert rules.due_on(received, 1) == date(2026, 3, 31)
    assert rules.due_on(received, 2) == date(2026, 4, 30)


def test_at_most_two_further_months() -> None:
    assert rules.check_extension(Status.IN_PROGRESS, 0, 2) == 2
    assert rules.check_extension(Status.RECEIVED, 1, 1) == 2
    with pytest.raises(RuleError) as err:
        rules.check_extension(Status.IN_PROGRESS, 1, 2)
    assert err.value.code == "extension_exceeded"
    for bad in (0, -1, True, "1"):
        with pytest.raises(RuleError):
            rules.check_extension(Status.IN_PROGRESS, 0, bad)


def test_a_closed_request_is_not_extended() -> None:
    with pytest.raises(RuleError) as err:
        rules.check_extension(Status.COMPLETED, 0, 1)
    assert err.value.conflict


def test_a_request_received_in_the_future_is_refused() -> None:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    rules.check_received_at(now - timedelta(days=3), now)
    with pytest.raises(RuleError):
        rules.check_received_at(now + HOUR, now)


def test_kinds() -> None:
    assert {k.value for k in Kind} == {"access", "rectification", "erasure", "restriction",
                                       "objection", "portability"}
    with pytest.raises(RuleError):
        rules.parse_kind("forget-me")


def test_only_a_rectification_carries_changes() -> None:
    assert rules.check_changes(Kind.RECTIFICATION, {"city": " Lyon "}) == {"city": "Lyon"}
    with pytest.raises(RuleError):
        rules.check_changes(Kind.RECTIFICATION, None)
    with pytest.raises(RuleError):
        rules.check_changes(Kind.RECTIFICATION, {"password": "x"})
    with pytest.raises(RuleError):
        rules.check_changes(Kind.ERASURE, {"city": "Lyon"})
    assert rules.check_changes(Kind.ERASURE, None) is None


def test_states_that_can_be_processed() -> None:
    rules.check_can_process(Status.RECEIVED)
    rules.check_can_process(Status.FAILED)  # resumable
    for status in (Status.IN_PROGRESS, Status.COMPLETED, Status.DENIED):
        with pytest.raises(RuleError):
            rules.check_can_process(status)


def test_outcome_waits_for_every_service() -> None:
    done = [TaskState(s, TaskStatus.DONE) for s in rules.HOLDERS]
    assert rules.outcome(done) is Status.COMPLETED
    assert rules.outcome(done[:-1]) is Status.IN_PROGRESS
    assert rules.outcome([*done[:-1], TaskState("mailer", TaskStatus.PENDING)]) is Status.IN_PROGRESS
    assert rules.outcome([*done[:-1], TaskState("mailer", TaskStatus.FAILED)]) is Status.FAILED


def test_resuming_never_asks_a_service_that_reported_done() -> None:
    assert rules.tasks_to_send({}) == list(rules.HOLDERS)
    assert rules.tasks_to_send({"accounts": TaskStatus.DONE, "leads": TaskStatus.FAILED,
                                "plans": TaskStatus.DONE}) == ["leads", "mailer"]


def test_late_and_retry() -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert not rules.retry_due(TaskStatus.PENDING, t0, t0 + HOUR - timedelta(seconds=1), HOUR)
    assert rules.retry_due(TaskStatus.PENDING, t0, t0 + HOUR, HOUR)
    assert not rules.retry_due(TaskStatus.DONE, t0, t0 + 5 * HOUR, HOUR)
    # still shown late after a retry went out: lateness counts from the first ask
    assert rules.is_late(TaskStatus.PENDING, t0, False, t0 + HOUR, HOUR)
    assert not rules.is_late(TaskStatus.DONE, t0, True, t0 + 5 * HOUR, HOUR)


def test_a_report_is_for_its_sender_only() -> None:
    assert rules.check_report({"request_id": "r", "service": "leads", "found": True,
                               "records_affected": 3}, "leads") == ("r", True, 3, None)
    with pytest.raises(RuleError):
        rules.check_report({"request_id": "r", "service": "leads", "found": True,
                            "records_affected": 3}, "mailer")
    with pytest.raises(RuleError):
        rules.check_report({"request_id": "r", "service": "leads", "found": "yes",
                            "records_affected": 3}, "leads")
    with pytest.raises(RuleError):
        rules.check_report({"request_id": "r", "service": "leads", "found": True,
                            "records_affected": -1}, "leads")
