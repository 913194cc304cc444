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


def _declared() -> dict:
    return data_map(office_months=6, unsold_months=36, freshness_days=30, duplicate_days=90)


def test_every_table_is_in_the_map_or_declared_not_personal() -> None:
    """The next table added to ``leads.models`` without a data-map entry fails here: name
    it in an activity (``TABLES``) or say why it holds no personal data."""
    from leads.domain.datamap import NOT_PERSONAL, TABLES
    from leads.models import metadata
    from suivi_common.datamap import table_coverage

    assert table_coverage(metadata.tables, _declared(), TABLES, NOT_PERSONAL) == []


def test_the_site_consents_are_in_the_map() -> None:
    from leads.domain.datamap import SITES, TABLES

    assert TABLES["site_consents"] == SITES
    sites = next(a for a in _declared()["activities"] if a["name"] == SITES)
    assert sites["role"] == "processor"
    text = repr(sites).lower()
    for stored in ("mention", "version", "art. 7.1", "6 mois après la fin du bureau",
                   "effacement demandé"):
        assert stored in text, stored


def test_a_stale_or_wrong_declaration_fails_the_coverage() -> None:
    from leads.domain.datamap import NOT_PERSONAL, TABLES
    from leads.models import metadata
    from suivi_common.datamap import table_coverage

    problems = table_coverage(metadata.tables, _declared(),
                              {**TABLES, "site_consents": "Nulle part", "gone": TABLES["leads"]},
                              {**NOT_PERSONAL, "office_notes": "du texte"})
    assert problems == [
        "office_notes: both mapped and declared not personal",
        "site_consents: mapped to 'Nulle part', which is no activity of the data map",
        "gone: declared, but there is no such table"]
