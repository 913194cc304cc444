"""Name plausibility: a heuristic for "filled in with no wish to be contacted".

It only ever says "pass" or "suspicious" (never "fake"): the platform's staff
make the final call (terms 3.B.ii), this just points them at the evidence.
Rules are conservative so real names (O'Neil, Jean-Pierre, Ng, Doherty, names
in non-Latin scripts) pass.
"""

from __future__ import annotations

import re
import unicodedata

PASS = "pass"
SUSPICIOUS = "suspicious"

_ALLOWED = re.compile(r"[^\W\d_]+(?:[ '\u2019.-]+[^\W\d_]+)*\.?")
_VOWELS = set("aeiouy")
_KEYBOARD_ROWS = ("azertyuiop", "qwertyuiop", "qsdfghjklm", "asdfghjkl", "wxcvbn", "zxcvbnm")
# AZERTY and QWERTY rows. Suspicious: a whole name that is a run of >= 4 neighbouring
# keys, or a run of >= 5 inside a name ("Doherty" contains "erty" but is real).
_WHOLE_RUN = 4
_INNER_RUN = 5

PLACEHOLDER_NAMES = frozenset(
    {
        "test",
        "tests",
        "testing",
        "toto",
        "titi",
        "tata",
        "tutu",
        "azerty",
        "qwerty",
        "asdf",
        "qsdf",
        "aaa",
        "abc",
        "xxx",
        "xx",
        "foo",
        "bar",
        "nom",
        "prenom",
        "name",
        "firstname",
        "lastname",
        "anonyme",
        "anonymous",
        "inconnu",
        "unknown",
        "fake",
        "null",
        "none",
        "na",
        "bidon",
        "blabla",
        "exemple",
        "example",
        "sample",
        "personne",
        "nobody",
    }
)
PLACEHOLDER_FULL_NAMES = frozenset(
    {
        "mickey mouse",
        "minnie mouse",
        "donald duck",
        "john doe",
        "jane doe",
        "harry potter",
        "test test",
        "toto toto",
        "bob leponge",
        "homer simpson",
    }
)


def _fold(text: str) -> str:
    """Lower-case without accents, so 'Prénom' matches 'prenom'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _is_keyboard_run(letters: str) -> bool:
    for row in _KEYBOARD_ROWS:
        # Whole-name runs are only checked left to right: reversed, "azer" is "Reza".
        if len(letters) >= _WHOLE_RUN and letters in row:
            return True
        for candidate in (row, row[::-1]):
            for start in range(len(letters) - _INNER_RUN + 1):
                if letters[start : start + _INNER_RUN] in candidate:
                    return True
    return False


def name_problems(value: str | None) -> list[str]:
    """Reasons a single name part looks invented; empty when it looks real."""
    if value is None or not value.strip():
        return ["missing"]
    text = " ".join(value.split())
    folded = _fold(text)
    letters = "".join(c for c in folded if c.isalpha())
    if folded in PLACEHOLDER_NAMES:
        return ["placeholder"]
    if not _ALLOWED.fullmatch(text):
        return ["invalid_characters"]
    problems = []
    if letters.isascii() and len(letters) < 2:  # one-character CJK names are real
        problems.append("too_short")
    if re.search(r"(.)\1\1", letters) or (len(letters) >= 2 and len(set(letters)) == 1):
        problems.append("repeated_characters")
    if letters.isascii() and len(letters) >= 3 and not _VOWELS & set(letters):
        problems.append("no_vowel")
    if letters.isascii() and _is_keyboard_run(letters):
        problems.append("keyboard_pattern")
    return problems


def check_names(first_name: str | None, last_name: str | None) -> dict[str, object]:
    """{"result": "pass"|"suspicious", "reasons": ["first_name:no_vowel", ...]}."""
    reasons = [f"first_name:{p}" for p in name_problems(first_name)]
    reasons += [f"last_name:{p}" for p in name_problems(last_name)]
    if first_name and last_name:
        first, last = _fold(" ".join(first_name.split())), _fold(" ".join(last_name.split()))
        if f"{first} {last}" in PLACEHOLDER_FULL_NAMES or f"{last} {first}" in PLACEHOLDER_FULL_NAMES:
            reasons.append("full_name:placeholder")
        elif first == last:
            reasons.append("full_name:identical_parts")
    return {"result": SUSPICIOUS if reasons else PASS, "reasons": reasons}
