"""Password policy (terms art. 7)."""
from accounts.domain import passwords

GOOD = "correct horse battery staple"


def test_a_long_passphrase_is_accepted() -> None:
    assert passwords.problems(GOOD, "jean.dupont@example.fr", ("Jean", "Dupont")) == []


def test_length_window() -> None:
    assert passwords.check("Xk9#mQ2$vL7") is not None          # 11 characters
    assert passwords.check("Xk9#mQ2$vL7!") is None              # 12 characters
    assert passwords.check("Xk9#mQ2$vL7!" * 10 + "abcdefgh") is None  # 128
    assert "at most 128" in (passwords.check("Xk9#mQ2$vL7!" * 10 + "abcdefghi") or "")


def test_common_passwords_are_refused_case_insensitively() -> None:
    assert passwords.check("123456789012") is not None
    assert passwords.check("QwertyUiopAsdf") is not None
    assert passwords.check("AzertyUiop123") is not None


def test_common_word_with_digits_or_symbols_around_is_refused() -> None:
    assert passwords.check("Sunshine2024!") is not None
    assert passwords.check("!!Marseille1313") is not None


def test_repetitions_and_poor_variety_are_refused() -> None:
    assert passwords.check("abcabcabcabc") is not None
    assert passwords.check("aaaabbbbcccc") is not None


def test_email_local_part_and_names_are_refused() -> None:
    assert passwords.check("my jean.dupont secret", "jean.dupont@example.fr") is not None
    assert passwords.check("DUPONT rides horses", "x@example.fr", ("Jean", "Dupont")) is not None
    assert passwords.check("Marie-Claire rides", "x@example.fr", ("Marie-Claire", "Li")) is not None


def test_short_names_do_not_block_everything() -> None:
    assert passwords.check(GOOD, "x@example.fr", ("Li", "Al")) is None


def test_non_text_is_refused() -> None:
    assert passwords.check(None) is not None
    assert passwords.check(123456789012345) is not None


def test_the_shipped_list_is_substantial() -> None:
    common = passwords.common_passwords()
    assert len(common) >= 500
    assert {"password", "123456", "azerty", "motdepasse"} <= common
    assert all(word == word.lower() for word in common)
