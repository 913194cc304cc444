"""Terms of service versions (art. 2, 14): the platform may change them at any time;
a change applies to a user once they accept it at login, and the date and IP of the
acceptance are kept as evidence. The current version is the last one published."""
from __future__ import annotations

import re

INITIAL_VERSION = "2026-01"
INITIAL_TEXT_RESOURCE = "data/terms-2026-01.fr.txt"
TEXT_MAX = 500_000
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


def version_problem(version: object) -> str | None:
    if not isinstance(version, str) or not _VERSION.match(version):
        return "A version is 1 to 40 letters, digits, dots, dashes or underscores."
    return None


def text_problem(text: object) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return "The terms need a text."
    if len(text) > TEXT_MAX:
        return f"At most {TEXT_MAX} characters."
    return None
