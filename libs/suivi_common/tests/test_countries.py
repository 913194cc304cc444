"""One country rule for every service: ISO 3166-1 alpha-2, upper-cased."""
from __future__ import annotations

from typing import Any

import pytest

from suivi_common.countries import country_code


@pytest.mark.parametrize(("value", "code"), [("FR", "FR"), ("fr", "FR"), (" be ", "BE"),
                                             ("RE", "RE"), ("GB", "GB")])
def test_iso_codes_are_upper_cased(value: str, code: str) -> None:
    assert country_code(value) == code


@pytest.mark.parametrize("value", ["ZZ", "XX", "UK", "FRA", "F", "", "F1", "ÉE", None, 33, ["FR"]])
def test_anything_else_is_none(value: Any) -> None:
    assert country_code(value) is None
