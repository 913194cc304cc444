"""accounts' data map keeps the register's format (compliance's ``DATA_MAP_SCHEMA``,
format 1): the checks below are the ones compliance's ``parse_data_map`` makes, written
out here since the services do not import each other."""
from typing import Any

from accounts.domain.data_map import data_map

REQUIRED = {"name", "role", "purposes", "legal_basis", "data_subjects", "categories",
            "retention", "recipients", "security_measures"}
ALLOWED = REQUIRED | {"transfers_outside_eu"}


def _texts(value: Any, minimum: int = 1) -> bool:
    return isinstance(value, list) and len(value) >= minimum and all(
        isinstance(v, str) and v.strip() and len(v) <= 2000 for v in value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= 2000


def test_the_map_has_the_register_format() -> None:
    answer = data_map()
    assert set(answer) == {"service", "format_version", "activities"}
    assert answer["service"] == "accounts" and answer["format_version"] == 1
    assert answer["activities"]
    for activity in answer["activities"]:
        assert REQUIRED <= set(activity) <= ALLOWED
        assert activity["role"] in ("processor", "controller")
        for key in ("name", "legal_basis", "retention"):
            assert _text(activity[key]), key
        for key in ("purposes", "data_subjects", "categories", "security_measures"):
            assert _texts(activity[key]), key
        assert _texts(activity["recipients"], minimum=0)
        assert activity["transfers_outside_eu"] is None or _text(activity["transfers_outside_eu"])


def test_the_map_names_what_accounts_stores() -> None:
    text = repr(data_map()).lower()
    for stored in ("adresse email", "téléphone", "adresse postale", "mot de passe",
                   "adresse ip", "paiements", "abonnements"):
        assert stored in text, stored


def test_each_answer_is_a_fresh_copy() -> None:
    first = data_map()
    first["activities"][0]["categories"].append("changed")
    assert "changed" not in data_map()["activities"][0]["categories"]
