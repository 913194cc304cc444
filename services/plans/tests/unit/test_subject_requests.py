"""Data-subject tasks as plans reads them, and its data map's format."""
from typing import Any

import pytest

from plans.domain.data_map import data_map
from plans.domain.subject_requests import (
    Kind,
    SubjectUsers,
    TaskError,
    report,
    subject_of,
    subject_users_of,
    task_for,
)


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


def test_the_report_is_plans_own() -> None:
    assert report("r-1", True, 2, data={"plans": []}) == {
        "request_id": "r-1", "service": "plans", "found": True, "records_affected": 2,
        "data": {"plans": []}}


def _texts(value: Any, minimum: int = 1) -> bool:
    return isinstance(value, list) and len(value) >= minimum and all(
        isinstance(v, str) and v.strip() and len(v) <= 2000 for v in value)


def test_the_data_map_has_the_register_format() -> None:
    """The checks of compliance's ``parse_data_map`` (format 1), written out here."""
    answer = data_map()
    assert set(answer) == {"service", "format_version", "activities"}
    assert (answer["service"], answer["format_version"]) == ("plans", 1)
    required = {"name", "role", "purposes", "legal_basis", "data_subjects", "categories",
                "retention", "recipients", "security_measures"}
    for activity in answer["activities"]:
        assert required <= set(activity) <= required | {"transfers_outside_eu"}
        assert activity["role"] in ("processor", "controller")
        for key in ("name", "legal_basis", "retention"):
            assert isinstance(activity[key], str) and activity[key].strip()
        for key in ("purposes", "data_subjects", "categories", "security_measures"):
            assert _texts(activity[key]), key
        assert _texts(activity["recipients"], minimum=0)
    assert "justificatif" in repr(answer)
