"""Countries of leads: the platform's codes (``suivi_common.countries.country_code``, ISO
3166-1 alpha-2), why a capture's country is refused, and the few territories that count
as one country.

Why the groups: ISO gives French overseas departments (RE, GP...) and the British
Crown Dependencies (GG, JE, IM) their own codes, and phonenumbers reports them as
the phone's region. A Réunion resident who picks "France" on a form, or a Jersey
mobile on a "United Kingdom" lead, is not a country mismatch.
"""

from __future__ import annotations

_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"}),
    frozenset({"GB", "GG", "JE", "IM"}),
)


def country_error(raw: str) -> str:
    """What to tell a capture site whose country ``country_code`` refused: two letters that
    no country has, or not a code at all."""
    code = raw.strip().upper()
    if len(code) == 2 and code.isascii() and code.isalpha():
        return f"unknown country code {code!r}"
    return "must be an ISO 3166-1 alpha-2 code, e.g. FR"


def same_country(a: str, b: str) -> bool:
    """True when two alpha-2 codes designate the same country for lead purposes."""
    a, b = a.upper(), b.upper()
    if a == b:
        return True
    return any(a in group and b in group for group in _GROUPS)
