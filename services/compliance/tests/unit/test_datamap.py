"""The data-map format services declare, checked as compliance reads it, and the register
assembled from the maps."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from compliance.domain import datamap, register
from compliance.testing import leads_map


def test_the_compliance_map_is_valid_in_its_own_format() -> None:
    as_dict = datamap.COMPLIANCE_DATA_MAP.as_dict()
    assert datamap.parse_data_map(as_dict) == datamap.COMPLIANCE_DATA_MAP
    assert {a["role"] for a in as_dict["activities"]} == {"processor", "controller"}


def test_a_declared_map_round_trips() -> None:
    parsed = datamap.parse_data_map(leads_map())
    assert parsed.service == "leads" and parsed.as_dict() == leads_map()


@pytest.mark.parametrize("breakage", [
    lambda m: m.update(format_version=2),
    lambda m: m.update(extra=1),
    lambda m: m["activities"][0].update(role="owner"),
    lambda m: m["activities"][0].update(purposes=[]),
    lambda m: m["activities"][0].update(retention=""),
    lambda m: m["activities"][0].update(colour="blue"),
    lambda m: m["activities"][0].pop("security_measures"),
])
def test_a_map_that_breaks_the_format_is_refused(breakage: Any) -> None:
    broken = leads_map()
    breakage(broken)
    with pytest.raises(ValueError):
        datamap.parse_data_map(broken)


def test_the_schema_names_the_fields_parse_checks() -> None:
    activity = datamap.DATA_MAP_SCHEMA["properties"]["activities"]["items"]
    assert set(activity["properties"]) == set(leads_map()["activities"][0])
    assert set(activity["required"]) == set(leads_map()["activities"][0]) - {"transfers_outside_eu"}


def test_the_register_assembles_maps_and_says_what_is_missing() -> None:
    doc = register.assemble("Suivi", {"name": None, "email": None},
                            [datamap.COMPLIANCE_DATA_MAP, datamap.parse_data_map(leads_map())],
                            {"mailer": "no data map declared"}, [], None,
                            datetime(2026, 3, 2, tzinfo=UTC))
    assert doc["declared_by"] == ["compliance", "leads"]
    assert {a["service"] for a in doc["activities"]} == {"compliance", "leads"}
    assert doc["missing"] == {"mailer": "no data map declared",
                              "dpo": "DPO_NAME and DPO_EMAIL are not set"}
    assert "nom et prénom" in doc["processing_on_behalf_of_controllers"]["data_categories"]
    assert len(doc["security_measures"]) == 3


def test_every_compliance_table_is_in_its_map_or_declared_not_personal() -> None:
    """The next table added to ``compliance.models`` without a map entry fails here."""
    from compliance.domain.datamap import COMPLIANCE_DATA_MAP, NOT_PERSONAL, TABLES
    from compliance.models import metadata
    from suivi_common.datamap import table_coverage

    assert table_coverage(metadata.tables, COMPLIANCE_DATA_MAP.as_dict(), TABLES,
                          NOT_PERSONAL) == []
