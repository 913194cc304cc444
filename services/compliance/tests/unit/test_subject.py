"""How a data subject's identifiers are read: lower-case email, E.164 phone, one at least."""
from __future__ import annotations

import pytest

from compliance.domain import subject


def test_email_is_normalised_to_lower_case() -> None:
    assert subject.parse_subject("  Jean.Dupont@Example.ORG ", None).email == "jean.dupont@example.org"


@pytest.mark.parametrize("raw", ["06 12 34 56 78", "+33 6 12 34 56 78", "0033612345678",
                                 "06.12.34.56.78"])
def test_phones_are_normalised_to_e164(raw: str) -> None:
    assert subject.parse_subject(None, raw).phone == "+33612345678"


def test_a_foreign_number_keeps_its_country() -> None:
    assert subject.parse_subject(None, "+32 470 12 34 56").phone == "+32470123456"


def test_at_least_one_identifier_is_required() -> None:
    with pytest.raises(subject.SubjectProblems) as err:
        subject.parse_subject(None, "")
    assert set(err.value.fields) == {"email", "phone"}


def test_every_bad_identifier_is_named() -> None:
    with pytest.raises(subject.SubjectProblems) as err:
        subject.parse_subject("not-an-email", "12")
    assert set(err.value.fields) == {"email", "phone"}


def test_the_subject_index_depends_on_the_key_and_the_value() -> None:
    a = subject.subject_index(b"k" * 32, "jean@example.org")
    assert a == subject.subject_index(b"k" * 32, "jean@example.org")
    assert a != subject.subject_index(b"j" * 32, "jean@example.org")
    assert a != subject.subject_index(b"k" * 32, "jeanne@example.org")
    assert subject.subject_index(b"k" * 32, None) is None
    assert a is not None and "jean" not in a and len(a) == 64
