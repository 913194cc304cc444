"""Name plausibility heuristic (for fake_record claims)."""

import pytest

from leads.domain.names import check_names, name_problems


@pytest.mark.parametrize(
    "name",
    [
        "Jean",
        "Jean-Pierre",
        "O'Neil",
        "D\u2019Artagnan",
        "Marie Claire",
        "Ng",
        "Ly",
        "Fry",
        "Doherty",
        "Reza",
        "Müller",
        "Nguyễn",
        "Łukasz",
        "Brzęczyszczykiewicz",
        "Zoë",
        "Aïcha",
        "王",
        "Ólafur",
        "Jean-Marc Jr.",
        "Mkrtchyan",
        "Schwarz",
        "Dupont",
    ],
)
def test_real_names_pass(name: str) -> None:
    assert name_problems(name) == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (None, "missing"),
        ("  ", "missing"),
        ("test", "placeholder"),
        ("TOTO", "placeholder"),
        ("Azerty", "placeholder"),
        ("Prénom", "placeholder"),
        ("xxx", "placeholder"),
        ("J3an", "invalid_characters"),
        ("1234", "invalid_characters"),
        ("jean@", "invalid_characters"),
        ("-Jean", "invalid_characters"),
        ("Jean--", "invalid_characters"),
        ("A", "too_short"),
        ("aaaa", "repeated_characters"),
        ("Jeaaan", "repeated_characters"),
        ("zz", "repeated_characters"),
        ("Brdk", "no_vowel"),
        ("qsdfgh", "keyboard_pattern"),
        ("dfgh", "keyboard_pattern"),
        ("Sdfghjean", "keyboard_pattern"),  # a 5-key run inside
        ("lkjhgf", "keyboard_pattern"),
        ("wxcvb", "keyboard_pattern"),
        ("uiop", "keyboard_pattern"),
    ],
)
def test_suspicious_name_parts(name: str | None, problem: str) -> None:
    assert problem in name_problems(name)


def test_check_names_pass() -> None:
    assert check_names("Jean", "Martin") == {"result": "pass", "reasons": []}


@pytest.mark.parametrize(
    ("first", "last", "reason"),
    [
        ("Mickey", "Mouse", "full_name:placeholder"),
        ("mouse", "MICKEY", "full_name:placeholder"),
        ("John", "Doe", "full_name:placeholder"),
        ("Martin", "Martin", "full_name:identical_parts"),
        ("qsdfgh", "Martin", "first_name:keyboard_pattern"),
        ("Jean", "Test", "last_name:placeholder"),
        ("Jean", None, "last_name:missing"),
    ],
)
def test_check_names_suspicious(first: str, last: str | None, reason: str) -> None:
    result = check_names(first, last)
    assert result["result"] == "suspicious"
    assert reason in result["reasons"]
