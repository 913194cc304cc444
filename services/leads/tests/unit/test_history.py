"""Edit history diff and change sources."""

from datetime import date

import pytest

from leads.domain.history import ChangeSource, FieldChange, diff_fields


def test_change_sources() -> None:
    assert [s.value for s in ChangeSource] == ["user", "admin", "staff", "system"]
    assert ChangeSource("admin") is ChangeSource.ADMIN


def test_diff_lists_changed_fields_sorted() -> None:
    before = {"first_name": "Jean", "city": "Paris", "email": "a@example.fr"}
    after = {"first_name": "Jean", "city": "Lyon", "email": "b@example.fr"}
    assert diff_fields(before, after) == [
        FieldChange("city", "Paris", "Lyon"),
        FieldChange("email", "a@example.fr", "b@example.fr"),
    ]


def test_no_change_gives_an_empty_list() -> None:
    data = {"first_name": "Jean", "birth_date": date(1980, 1, 1)}
    assert diff_fields(data, dict(data)) == []


@pytest.mark.parametrize(("old", "new"), [(None, ""), ("", None), ("  ", None), (None, None), ("", "\t")])
def test_empty_values_are_equivalent(old: str | None, new: str | None) -> None:
    assert diff_fields({"city": old}, {"city": new}) == []


def test_missing_keys_count_as_empty() -> None:
    assert diff_fields({}, {"city": None}) == []
    assert diff_fields({"city": "Paris"}, {}) == [FieldChange("city", "Paris", None)]
    assert diff_fields({}, {"city": "Paris"}) == [FieldChange("city", None, "Paris")]


def test_clearing_and_filling_are_recorded_with_none() -> None:
    assert diff_fields({"city": "Paris"}, {"city": ""}) == [FieldChange("city", "Paris", None)]
    assert diff_fields({"city": " "}, {"city": "Lyon"}) == [FieldChange("city", None, "Lyon")]


def test_non_string_values() -> None:
    assert diff_fields({"birth_date": date(1980, 1, 1)}, {"birth_date": date(1981, 1, 1)}) == [
        FieldChange("birth_date", date(1980, 1, 1), date(1981, 1, 1))
    ]
    assert diff_fields({"mobile": {"e164": "+33612345678"}}, {"mobile": {"e164": "+33612345678"}}) == []


def test_case_changes_are_changes() -> None:
    assert diff_fields({"last_name": "martin"}, {"last_name": "Martin"}) == [
        FieldChange("last_name", "martin", "Martin")
    ]
