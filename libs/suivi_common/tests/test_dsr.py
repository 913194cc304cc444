"""The data-subject task contract: the report's payload, and a task handled once."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suivi_common import dsr
from suivi_common.dsr import Outcome, Subject, Task

PAYLOAD = {"request_id": "r-1", "service": "plans", "kind": "erasure", "attempt": 2}


def test_the_report_follows_compliance_contract() -> None:
    assert dsr.report("accounts", "r-1", True, 3) == {
        "request_id": "r-1", "service": "accounts", "found": True, "records_affected": 3}
    full = dsr.report("plans", "r-1", False, -1, data={"plans": []}, error="x" * 600)
    assert full["records_affected"] == 0 and full["data"] == {"plans": []}
    assert len(full["error"]) == 500
    assert dsr.ambiguous().error == dsr.AMBIGUOUS_ERROR
    assert dsr.AMBIGUOUS_ERROR.startswith("ambiguous_subject")


class Holder:
    """A service holding the person: records what ``run_once`` asks of it."""

    def __init__(self, subject: Subject | None = Subject("a@b.fr", None)) -> None:
        self.person = subject
        self.locks: list[str] = []
        self.reports: list[Mapping[str, Any]] = []
        self.recorded: dict[str, Outcome] = {}
        self.acted: list[Task] = []

    def run(self, payload: object, outcome: Outcome = Outcome(True, 2)) -> None:
        def act(task: Task, subject: Subject) -> Outcome:
            self.acted.append(task)
            if outcome.error is None:
                self.recorded[task.request_id] = outcome
            return outcome

        answer = dsr.run_once(payload, "plans", lock=self.locks.append, done=self.recorded.get,
                              subject=lambda request_id: self.person, act=act)
        if answer is not None:
            self.reports.append(answer)


def test_a_task_is_done_once_and_reported_again_on_a_retry() -> None:
    holder = Holder()
    holder.run(PAYLOAD)
    holder.run(dict(PAYLOAD, attempt=3), Outcome(True, 9))
    assert len(holder.acted) == 1 and holder.locks == ["r-1", "r-1"]
    assert holder.reports == [{"request_id": "r-1", "service": "plans", "found": True,
                               "records_affected": 2}] * 2


def test_access_reads_again_and_a_failure_is_not_recorded() -> None:
    holder = Holder()
    holder.run(dict(PAYLOAD, kind="access"), Outcome(True, 1, data={"plans": []}))
    holder.run(dict(PAYLOAD, kind="access"), Outcome(True, 1, data={"plans": []}))
    assert len(holder.acted) == 2 and holder.reports[1]["data"] == {"plans": []}
    failing = Holder()
    failing.run(PAYLOAD, dsr.ambiguous())
    failing.run(PAYLOAD, dsr.ambiguous())
    assert len(failing.acted) == 2 and not failing.recorded
    assert failing.reports[0]["error"] == dsr.AMBIGUOUS_ERROR


def test_a_failure_recorded_as_final_is_reported_again_with_its_error() -> None:
    """A service that records a failure (leads: a rectification that would not validate)
    reports it again on a retry, error included, without acting or asking compliance."""
    holder = Holder(subject=None)  # compliance would say the request is closed: not asked
    holder.recorded["r-1"] = Outcome(True, 0, error="rectification: invalid phone")
    holder.run(dict(PAYLOAD, attempt=3))
    assert not holder.acted
    assert holder.reports == [{"request_id": "r-1", "service": "plans", "found": True,
                               "records_affected": 0,
                               "error": "rectification: invalid phone"}]


def test_other_services_tasks_unreadable_ones_and_closed_requests_do_nothing() -> None:
    holder = Holder()
    holder.run(dict(PAYLOAD, service="accounts"))
    holder.run(dict(PAYLOAD, kind="forget"))
    holder.run("not an object")
    assert not holder.locks and not holder.reports
    closed = Holder(subject=None)
    closed.run(PAYLOAD)
    assert closed.locks == ["r-1"] and not closed.acted and not closed.reports
