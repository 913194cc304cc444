"""Country codes of plans and sales closures."""

from __future__ import annotations

from suivi_common.errors import Invalid


def parse_country(value: object, field: str = "country") -> str:
    """Normalise an ISO 3166-1 alpha-2 code to upper case.

    Only the shape is checked: which countries are open is a network setting
    owned by another service.
    """
    if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    raise Invalid(
        "Country must be an ISO 3166-1 alpha-2 code",
        fields={field: "must be two letters, e.g. FR"},
        code="country_invalid",
    )
