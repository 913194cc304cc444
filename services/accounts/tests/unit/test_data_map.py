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
