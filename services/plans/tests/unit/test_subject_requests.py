"""Data-subject tasks as plans reads them, and its data map's format."""

import pytest

from plans.domain.data_map import data_map
from plans.domain.subject_requests import (
    Kind,
    SubjectUsers,
    TaskError,
    subject_of,
    subject_users_of,
    task_for,
)
from suivi_common.datamap import parse_data_map


def test_only_plans_tasks_are_taken() -> None:
    payload = {"request_id": "r-1", "service": "plans", "kind": "portability", "attempt": 0}
    task = task_for(payload)
    assert task is not None and (task.kind, task.attempt) == (Kind.PORTABILITY, 1)
    assert task_for(dict(payload, service="accounts")) is None
    with pytest.raises(TaskError):
        task_for(dict(payload, kind="forget"))
    with pytest.raises(TaskError):
        task_for(dict(payload, request_id=""))


def test_the_answers_of_compliance_and_accounts() -> None:
    assert subject_of({"email": "a@b.fr", "phone": None}).email == "a@b.fr"
    assert subject_users_of({"user_ids": ["u1"], "ambiguous": False}) == SubjectUsers(("u1",))
    with pytest.raises(ValueError):
        subject_users_of({"user_ids": "u1"})


def test_the_data_map_has_the_register_format() -> None:
    """Checked as compliance's ``parse_data_map`` checks it (format 1)."""
    answer = data_map()
    assert parse_data_map(answer).as_dict() == answer
    assert answer["service"] == "plans"
    assert "justificatif" in repr(answer)
