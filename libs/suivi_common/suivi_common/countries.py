"""Country codes: ISO 3166-1 alpha-2 (pycountry), the one rule of every service."""
from __future__ import annotations

import pycountry


def country_code(value: object) -> str | None:
    """The upper-cased code ``value`` spells (blanks around it ignored), or None if it is
    not an ISO 3166-1 alpha-2 code (``"ZZ"`` is not)."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return None
    return code if pycountry.countries.get(alpha_2=code) is not None else None
