"""Postal-code formats of the countries the platform sells in.

A code is only checked against countries whose format we know; for other
countries any short alphanumeric code is accepted ("where the format tells").
Formats overlap (a German 10115 also looks French), so a match means
"consistent with", never "proves".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS_ONLY = re.compile(r"[\s.]")


@dataclass(frozen=True)
class _Format:
    pattern: re.Pattern[str]
    example: str


_GB = (
    r"(?:GIR 0AA|"
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|"
    r"[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) "
    r"[0-9][ABD-HJLNP-UW-Z]{2})"
)

FORMATS: dict[str, _Format] = {
    # Metropolitan France + overseas (97xxx) + Monaco/COM range (98xxx); no 00xxx.
    "FR": _Format(re.compile(r"(?:0[1-9]|[1-8]\d|9[0-8])\d{3}"), "75001"),
    "GP": _Format(re.compile(r"971\d{2}"), "97110"),
    "MQ": _Format(re.compile(r"972\d{2}"), "97200"),
    "GF": _Format(re.compile(r"973\d{2}"), "97300"),
    "RE": _Format(re.compile(r"974\d{2}"), "97400"),
    "PM": _Format(re.compile(r"975\d{2}"), "97500"),
    "YT": _Format(re.compile(r"976\d{2}"), "97600"),
    "MC": _Format(re.compile(r"980\d{2}"), "98000"),
    "BE": _Format(re.compile(r"[1-9]\d{3}"), "1000"),
    "CH": _Format(re.compile(r"[1-9]\d{3}"), "8001"),
    "LU": _Format(re.compile(r"\d{4}"), "1009"),
    "ES": _Format(re.compile(r"(?:0[1-9]|[1-4]\d|5[0-2])\d{3}"), "28001"),
    "DE": _Format(re.compile(r"(?:0[1-9]|[1-9]\d)\d{3}"), "10115"),
    "IT": _Format(re.compile(r"\d{5}"), "00184"),
    "PT": _Format(re.compile(r"[1-9]\d{3}-\d{3}"), "1000-001"),
    "NL": _Format(re.compile(r"[1-9]\d{3} [A-Z]{2}"), "1011 AB"),
    "GB": _Format(re.compile(_GB), "SW1A 1AA"),
    "GG": _Format(re.compile(r"GY\d{1,2} \d[A-Z]{2}"), "GY1 1AA"),
    "JE": _Format(re.compile(r"JE\d \d[A-Z]{2}"), "JE2 3AB"),
    "IM": _Format(re.compile(r"IM\d{1,2} \d[A-Z]{2}"), "IM1 1AA"),
}

_GENERIC = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,14}")


def canonical_form(country: str | None, raw: str) -> str:
    """Rewrite a postal code into the canonical spelling of `country`.

    Forgives the usual typing variants (spaces in '75 001', 'L-1234' for
    Luxembourg, '1000001' for Portugal, lower-case British codes) so that only
    real format errors are refused.
    """
    code = " ".join(raw.strip().upper().split())
    if country == "LU" and code.startswith("L-"):
        code = code[2:]
    if country in ("GB", "GG", "JE", "IM"):
        compact = code.replace(" ", "")
        # The inward code is always the last three characters.
        return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact
    if country == "NL":
        compact = code.replace(" ", "")
        return f"{compact[:4]} {compact[4:]}" if len(compact) > 4 else compact
    if country == "PT":
        digits = _DIGITS_ONLY.sub("", code)
        if re.fullmatch(r"\d{7}", digits):
            return f"{digits[:4]}-{digits[4:]}"
        return digits
    if country in FORMATS:
        return _DIGITS_ONLY.sub("", code)
    return code


def matches_country(country: str, code: str) -> bool | None:
    """True/False when the country has a known format, None when we cannot tell."""
    fmt = FORMATS.get(country.upper())
    if fmt is None:
        return None
    return fmt.pattern.fullmatch(code) is not None


def looks_like_postal_code(code: str) -> bool:
    """Loose sanity check used when the country's format is unknown."""
    return _GENERIC.fullmatch(code) is not None


def example_for(country: str) -> str | None:
    """An example of a valid code, for error messages."""
    fmt = FORMATS.get(country.upper())
    return fmt.example if fmt else None
