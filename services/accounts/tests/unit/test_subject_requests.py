"""Data-subject requests in accounts: which task is ours, who the person is, what a
rectification writes, how long an erased account's invoice identity stays."""
from datetime import date

import pytest

from accounts.domain.subject_requests import (
    Kind,
    Match,
    TaskError,
    billing_retained_until,
    email_key,
    match,
    phone_key,
    plan_rectification,
    subject_of,
    task_for,
)

ADDRESS = {"line1": "3 rue des Lilas", "postal_code": "69001", "city": "Lyon", "country": "FR"}
CURRENT = {"first_name": "Bruno", "last_name": "Leroy", "email": "bruno@soleil.test",
           "phone": "+33612345678", "address": ADDRESS}


def test_only_accounts_tasks_are_taken() -> None:
    payload = {"request_id": "r-1", "service": "accounts", "kind": "erasure", "attempt": 2,
               "due_on": "2026-07-10", "email_index": "ab", "phone_index": None}
    task = task_for(payload)
    assert task is not None and (task.request_id, task.kind, task.attempt) == ("r-1", Kind.ERASURE, 2)
    assert task_for(dict(payload, service="plans")) is None


@pytest.mark.parametrize("payload", [
    "not an object",
    {"service": "accounts", "kind": "erasure"},
    {"service": "accounts", "kind": "erasure", "request_id": "x" * 65},
    {"service": "accounts", "kind": "forget-me", "request_id": "r-1"},
])
def test_an_unreadable_task_is_refused(payload: object) -> None:
    with pytest.raises(TaskError):
        task_for(payload)


def test_the_subject_answer_keeps_strings_only() -> None:
    subject = subject_of({"email": "a@b.fr", "phone": 33, "changes": {"city": "Lyon"}})
    assert (subject.email, subject.phone, dict(subject.changes)) == ("a@b.fr", None, {"city": "Lyon"})
    assert subject_of(None).email is None


def test_identifiers_are_indexed_in_accounts_own_form() -> None:
    assert email_key(" Bruno@Soleil.TEST ") == "bruno@soleil.test"
    assert email_key("not-an-email") is None
    assert phone_key("06 12 34 56 78") == "+33612345678"
    assert phone_key(None) is None and phone_key("12") is None


def test_an_email_names_its_account_and_the_phone_adds_nobody() -> None:
    assert match(["u1"], ["u2", "u3"], email_given=True) == Match(("u1",))
    assert match([], ["u2"], email_given=True) == Match(())


def test_a_phone_alone_names_its_only_holder_and_several_are_ambiguous() -> None:
    assert match([], ["u2"], email_given=False) == Match(("u2",))
    assert match([], [], email_given=False) == Match(())
    assert match([], ["u2", "u3"], email_given=False) == Match((), ambiguous=True)


def test_a_rectification_cleans_and_compares() -> None:
    plan = plan_rectification({"first_name": "  Bruno ", "last_name": "Le  Roy",
                               "email": "Bruno.Leroy@Soleil.test", "phone": "0698765432"},
                              CURRENT)
    assert plan.columns == {"last_name": "Le Roy", "email": "bruno.leroy@soleil.test",
                            "phone": "+33698765432"}
    assert set(plan.fields) == {"last_name", "email", "phone"}
    assert plan.unchanged == ("first_name",)
    assert plan.address is None and not plan.problems and plan.changes_anything


def test_postal_code_and_city_change_the_address_held() -> None:
    plan = plan_rectification({"postal_code": "69002", "city": "Lyon"}, CURRENT)
    assert plan.address == dict(ADDRESS, postal_code="69002")
    assert plan.fields == ("postal_code",) and plan.unchanged == ("city",)


def test_an_address_not_held_is_reported_not_invented() -> None:
    plan = plan_rectification({"city": "Lyon", "first_name": "Brune"},
                              dict(CURRENT, address=None))
    assert plan.not_held == ("city",) and plan.address is None
    assert plan.columns == {"first_name": "Brune"}


def test_invalid_or_unknown_fields_are_problems() -> None:
    plan = plan_rectification({"email": "nope", "phone": "12", "birthday": "1990-01-01",
                               "postal_code": "x" * 30}, CURRENT)
    assert set(plan.problems) == {"email", "phone", "birthday", "postal_code"}


def test_nothing_changes_when_everything_is_already_so() -> None:
    plan = plan_rectification({"email": "BRUNO@soleil.test"}, CURRENT)
    assert not plan.changes_anything and plan.unchanged == ("email",)


def test_the_invoice_identity_stays_ten_years_after_the_last_payment() -> None:
    assert billing_retained_until(None) is None
    assert billing_retained_until(date(2026, 6, 10)) == date(2036, 6, 10)
    assert billing_retained_until(date(2028, 2, 29)) == date(2038, 2, 28)
