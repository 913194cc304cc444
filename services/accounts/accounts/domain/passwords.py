"""Password policy (terms art. 7: the user alone keeps their credentials safe, so the
platform refuses the passwords attackers try first).

Rules follow NIST SP 800-63B rather than composition rules: a length window, a
list of common and breached passwords, and context words (the user's own email
and names). Failures are reported as one message per problem so the form can
show them all at once.
"""
from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_DISTINCT_CHARACTERS = 5
_CONTEXT_MIN_LENGTH = 3
_AFFIXES = string.digits + string.punctuation + string.whitespace


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (``accounts/data/common-passwords.txt``), lower-cased."""
    text = resources.files("accounts").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def _normalise(value: str) -> str:
    return unicodedata.normalize("NFKC", value).casefold()


def _is_repetition(value: str) -> bool:
    """``abcabcabcabc``, ``passwordpassword``: one short unit repeated."""
    n = len(value)
    return any(n % size == 0 and value == value[:size] * (n // size) for size in range(1, n // 2 + 1))


def _context_words(email: str | None, names: Iterable[str | None]) -> list[str]:
    words: list[str] = []
    if email:
        local = _normalise(email.split("@", 1)[0])
        words.append(local)
        words.extend(part for part in re.split(r"[^\w]+|_", local) if part)
    for name in names:
        if name:
            normalised = _normalise(name)
            words.append(normalised)
            words.extend(part for part in re.split(r"[\s\-'.]+", normalised) if part)
    return [w for w in dict.fromkeys(words) if len(w) >= _CONTEXT_MIN_LENGTH]


def problems(password: object, email: str | None = None,
             names: Iterable[str | None] = ()) -> list[str]:
    """Every reason ``password`` is refused; an empty list means it is acceptable."""
    if not isinstance(password, str):
        return ["The password must be text."]
    found: list[str] = []
    if len(password) < MIN_LENGTH:
        found.append(f"The password must have at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        found.append(f"The password must have at most {MAX_LENGTH} characters.")
    lowered = _normalise(password)
    core = lowered.strip(_AFFIXES)
    common = common_passwords()
    if lowered in common or (len(core) >= 4 and core in common) or _is_repetition(lowered):
        found.append("This password is too common or too easy to guess.")
    elif len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        found.append("The password needs more variety: too few different characters.")
    if any(word in lowered for word in _context_words(email, names)):
        found.append("The password must not contain your email address or your name.")
    return found


def check(password: object, email: str | None = None, names: Iterable[str | None] = ()) -> str | None:
    """The problems joined into one message, or None when the password is acceptable."""
    found = problems(password, email, names)
    return " ".join(found) if found else None
