"""Data-subject tasks as leads reads them (``domain.subjects``)."""
from __future__ import annotations

import pytest

from leads.domain.subjects import BadTask, Kind, Subject, Task, edit_of, parse_subject, parse_task, refusal
from suivi_common import dsr


def test_only_leads_tasks_are_read() -> None:
    task = {"request_id": "r1", "service": "leads", "kind": "erasure", "attempt": 2}
    assert parse_task(task) == Task("r1", Kind.ERASURE, 2)
    assert parse_task({**task, "service": "mailer"}) is None
    with pytest.raises(BadTask):
        parse_task({**task, "kind": "forget_me"})
    with pytest.raises(BadTask):
        parse_task({**task, "request_id": ""})


def test_the_subject_is_normalised_as_the_blind_indexes_are() -> None:
    subject = parse_subject(dsr.subject_of({"email": " Jeanne.Dupont@Example.FR ",
                                             "phone": "06 12 34 56 78"}))
    assert subject.keys() == [("email", "jeanne.dupont@example.fr"), ("phone", "+33612345678")]
    with pytest.raises(BadTask):
        parse_subject(dsr.subject_of({"email": " ", "phone": None}))


STORED = {"first_name": "Jeanne", "email": "jeanne@example.fr",
          "mobile": {"e164": "+33612345678", "valid": True, "line_type": "mobile"},
          "landline": {"e164": "+33145678901", "valid": True, "line_type": "fixed_line"}}


def test_a_rectified_identifier_replaces_the_old_one_where_it_is_held() -> None:
    subject = Subject("jeanne@example.fr", "+33145678901",
                      {"phone": "01 98 76 54 32", "email": "j@example.org", "city": "Lyon"})
    assert edit_of(subject, STORED) == {"landline": "01 98 76 54 32", "email": "j@example.org",
                                        "city": "Lyon"}


def test_a_copy_holding_another_address_keeps_it_and_an_empty_field_is_filled() -> None:
    subject = Subject("other@example.fr", "+33600000000",
                      {"email": "new@example.fr", "phone": "06 11 22 33 44"})
    assert edit_of(subject, STORED) == {}
    assert edit_of(subject, {"first_name": "Jeanne"}) == {"email": "new@example.fr",
                                                         "mobile": "06 11 22 33 44"}


def test_only_the_contract_fields_may_be_rectified() -> None:
    with pytest.raises(BadTask):
        edit_of(Subject("a@example.fr", None, {"consent_at": "2020-01-01"}), STORED)


def test_a_task_that_cannot_be_read_is_reported_failed_if_it_is_leads() -> None:
    task = {"request_id": " r1 ", "service": "leads", "kind": "forget_me"}
    assert refusal(task, "x" * 900) == {"request_id": "r1", "service": "leads", "found": False,
                                        "records_affected": 0, "error": "x" * 500}
    assert refusal({**task, "service": "plans"}, "unknown kind") is None
    assert refusal({**task, "request_id": "r" * 65}, "unknown kind") is None
