"""``datamap.table_coverage``: a service's tables against its data map and declarations."""
from __future__ import annotations

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table

from suivi_common.datamap import DataMap, controller, personal_looking, table_coverage
from suivi_common.tables import define_common_tables

MAP = DataMap("svc", (controller("Comptes", ("gérer",), "contrat", ("utilisateurs",),
                                 ("email",), "un an", (), ("chiffré",)),)).as_dict()


def tables() -> MetaData:
    metadata = MetaData()
    define_common_tables(metadata)
    Table("users", metadata, Column("id", String, primary_key=True),
          Column("email", LargeBinary))
    Table("settings", metadata, Column("name", String, primary_key=True),
          Column("value", Integer))
    return metadata


def test_mapped_or_declared_passes_and_the_common_tables_are_plumbing() -> None:
    assert table_coverage(tables().tables, MAP, {"users": "Comptes"},
                          {"settings": "réglages"}) == []


def test_each_gap_is_named() -> None:
    metadata = tables()
    Table("notes", metadata, Column("id", String, primary_key=True),
          Column("author_id", String))
    problems = table_coverage(metadata.tables, MAP, {"users": "Autre", "gone": "Comptes"},
                              {"settings": " ", "notes": "rien"})
    assert [p.split(":")[0] for p in problems] == ["notes", "settings", "users", "gone"]
    assert "author_id look personal" in problems[0]


def test_what_looks_personal() -> None:
    t = Table("t", MetaData(), Column("pii", LargeBinary), Column("email_bidx", LargeBinary),
              Column("client_ip", String), Column("decided_by", String),
              Column("owner_id", String), Column("phone_index", String),
              Column("country", String), Column("price_cents", Integer))
    assert [c.name for c in t.columns if personal_looking(c)] == [
        "pii", "email_bidx", "client_ip", "decided_by", "owner_id", "phone_index"]
