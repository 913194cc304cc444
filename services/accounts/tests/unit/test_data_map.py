"""accounts' data map keeps the register's format (``suivi_common.datamap``, format 1),
checked as compliance checks it."""
from accounts.domain.data_map import data_map
from suivi_common.datamap import parse_data_map


def test_the_map_has_the_register_format() -> None:
    answer = data_map()
    parsed = parse_data_map(answer)
    assert parsed.service == "accounts" and parsed.activities
    assert parsed.as_dict() == answer


def test_the_map_names_what_accounts_stores() -> None:
    text = repr(data_map()).lower()
    for stored in ("adresse email", "téléphone", "adresse postale", "mot de passe",
                   "adresse ip", "paiements", "abonnements", "second facteur"):
        assert stored in text, stored


def test_each_answer_is_a_fresh_copy() -> None:
    first = data_map()
    first["activities"][0]["categories"].append("changed")
    assert "changed" not in data_map()["activities"][0]["categories"]


def test_every_table_is_in_the_map_or_declared_not_personal() -> None:
    """The next table added to ``accounts.models`` without a data-map entry fails here:
    name it in an activity (``TABLES``) or say why it holds no personal data."""
    from accounts.domain.data_map import NOT_PERSONAL, TABLES
    from accounts.models import metadata
    from suivi_common.datamap import table_coverage

    assert table_coverage(metadata.tables, data_map(), TABLES, NOT_PERSONAL) == []


def test_the_sites_and_boutiques_are_in_the_map() -> None:
    from accounts.domain.data_map import SITES, TABLES

    for table in ("site_pages", "site_overrides", "site_profiles", "site_images",
                  "boutique_products"):
        assert TABLES[table] == SITES
    sites = next(a for a in data_map()["activities"] if a["name"] == SITES)
    text = repr(sites).lower()
    for stored in ("photo", "modifi", "slug", "art. 11"):
        assert stored in text, stored


def test_a_new_table_without_an_entry_fails_the_coverage() -> None:
    from sqlalchemy import Column, MetaData, String, Table

    from accounts.domain.data_map import NOT_PERSONAL, TABLES
    from accounts.models import metadata
    from suivi_common.datamap import table_coverage

    extra = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(extra)
    Table("site_visitors", extra, Column("id", String, primary_key=True))
    problems = table_coverage(extra.tables, data_map(), TABLES, NOT_PERSONAL)
    assert len(problems) == 1 and problems[0].startswith("site_visitors:")
    # declaring a table of people "not personal" does not pass either
    Table("visitor_ips", extra, Column("ip", String, primary_key=True))
    problems = table_coverage(extra.tables, data_map(), TABLES,
                              {**NOT_PERSONAL, "site_visitors": "ids only",
                               "visitor_ips": "nothing"})
    assert problems == ["visitor_ips: declared not personal, but ip look personal: name it "
                        "in an activity of the data map"]
