"""Country codes of plans and sales closures."""

from __future__ import annotations

from suivi_common.countries import country_code
from suivi_common.errors import Invalid


def parse_country(value: object, field: str = "country") -> str:
    """The upper-cased ISO 3166-1 alpha-2 code (``suivi_common.countries``); which
    countries are open is a network setting owned by accounts."""
    code = country_code(value)
    if code is None:
        raise Invalid("Country must be an ISO 3166-1 alpha-2 code",
                      fields={field: "must be an ISO 3166-1 alpha-2 code, e.g. FR"},
                      code="country_invalid")
    return code
