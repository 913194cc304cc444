"""Country codes: ISO 3166-1 alpha-2, plus the few territories that count as one country.

Why the groups: ISO gives French overseas departments (RE, GP...) and the British
Crown Dependencies (GG, JE, IM) their own codes, and phonenumbers reports them as
the phone's region. A Réunion resident who picks "France" on a form, or a Jersey
mobile on a "United Kingdom" lead, is not a country mismatch.
"""

from __future__ import annotations

import pycountry

_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"}),
    frozenset({"GB", "GG", "JE", "IM"}),
)


def normalize_country(raw: str) -> str:
    """Return the upper-cased ISO alpha-2 code, or raise ValueError if it is not one."""
    code = raw.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValueError("must be an ISO 3166-1 alpha-2 code, e.g. FR")
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"unknown country code {code!r}")
    return code


def same_country(a: str, b: str) -> bool:
    """True when two alpha-2 codes designate the same country for lead purposes."""
    a, b = a.upper(), b.upper()
    if a == b:
        return True
    return any(a in group and b in group for group in _GROUPS)
