"""A capture site's name and URL are checked before anything is stored: PostgreSQL cannot
hold a NUL, and no listing should show a control character."""
from datetime import UTC, datetime
from typing import Any

import pytest

from leads.usecases import capture as intake
from suivi_common.errors import Invalid

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("name, url, field", [
    ("a\x00b", "https://capture.example", "name"), ("site\n", "https://capture.example", "name"),
    ("Site", "https://capture.example/\x00", "url"), ("Site\ud800", "https://c.example", "name"),
])
def test_control_characters_are_refused_naming_the_field(name: str, url: str, field: str) -> None:
    session: Any = None  # refused before the database is touched
    with pytest.raises(Invalid) as err:
        intake.create_site(session, name, url, NOW)
    assert set(err.value.fields or {}) == {field}


def test_a_site_declares_a_kind_of_lead_or_is_refused() -> None:
    session: Any = None
    with pytest.raises(Invalid) as err:
        intake.create_site(session, "Site", "https://capture.example", NOW, kind="shop")
    assert set(err.value.fields or {}) == {"kind"}
