"""leads' data map is in the register's format (``suivi_common.datamap``: the parser
compliance reads it with is the contract)."""
from __future__ import annotations

from leads.domain.datamap import data_map
from suivi_common.datamap import parse_data_map


def test_the_data_map_parses_as_compliance_reads_it() -> None:
    declared = data_map(office_months=6, unsold_months=36, freshness_days=30, duplicate_days=90)
    parsed = parse_data_map(declared)
    assert parsed.service == "leads" and parsed.as_dict() == declared
    assert {a.role for a in parsed.activities} == {"processor", "controller"}
    assert "6 mois après la fin du bureau" in declared["activities"][1]["retention"]
