"""Profile fields, network settings, permissions."""
import pytest

from accounts.domain import networks, permissions
from accounts.domain.profile import ProfileError, clean_address, normalise_email, normalise_phone
from suivi_common.errors import Conflict, Invalid


def test_email_is_trimmed_and_lower_cased() -> None:
    assert normalise_email("  Jean.Dupont@Example.FR ") == "jean.dupont@example.fr"
    for bad in ("nope", "a@b", "", None, "a b@c.fr"):
        with pytest.raises(ProfileError):
            normalise_email(bad)


def test_phone_numbers_default_to_france_and_become_e164() -> None:
    assert normalise_phone("06 12 34 56 78") == "+33612345678"
    assert normalise_phone("+32 470 12 34 56") == "+32470123456"
    assert normalise_phone("") is None
    for bad in ("12", "hello", "06 12"):
        with pytest.raises(ProfileError):
            normalise_phone(bad)


def test_address_is_a_structured_object() -> None:
    address = clean_address({"line1": " 19 rue des  3 Bornes", "postal_code": "75011",
                             "city": "Paris", "country": "fr"})
    assert address == {"line1": "19 rue des 3 Bornes", "postal_code": "75011", "city": "Paris",
                       "country": "FR"}
    assert clean_address(None) is None
    for bad in ("19 rue", {"line1": "x", "postal_code": "1", "city": "y", "country": "ZZ"},
                {"line1": "x", "city": "y", "country": "FR"}, {"street": "x"}):
        with pytest.raises(ProfileError):
            clean_address(bad)


def test_open_countries_are_validated_upper_cased_and_deduplicated() -> None:
    assert networks.clean_open_countries(["fr", "BE", "fr", " ch "]) == ["FR", "BE", "CH"]
    with pytest.raises(networks.SettingError) as err:
        networks.clean_open_countries(["FR", "XX", "France"])
    assert "XX" in err.value.message and "France" in err.value.message
    with pytest.raises(networks.SettingError):
        networks.clean_open_countries("FR")


def test_permission_vocabulary() -> None:
    assert permissions.unknown(["take_leads", "buy_leads"]) == []
    assert permissions.unknown(["take_leads", "god.mode"]) == ["god.mode"]
    assert permissions.normalise(["buy_leads", "take_leads", "buy_leads"]) == ["buy_leads", "take_leads"]


def test_what_a_user_holds() -> None:
    assert permissions.effective("user", ["take_leads"], list(permissions.ALL)) == ["take_leads"]
    assert permissions.effective("user", None, ["export_leads"]) == ["export_leads"]  # default
    assert permissions.effective("user", None, None) == list(permissions.ALL)  # no default yet
    assert permissions.effective("user", ["take_leads", "retired_name"], None) == ["take_leads"]
    assert permissions.effective("admin", [], []) == list(permissions.ALL)
    assert permissions.effective("staff", None, None) == []


def test_deleting_a_level() -> None:
    permissions.check_deletion(level_id="a", is_default=False, holders=0, replacement_id=None)
    permissions.check_deletion(level_id="a", is_default=False, holders=3, replacement_id="b")
    with pytest.raises(Conflict) as err:
        permissions.check_deletion(level_id="a", is_default=False, holders=3, replacement_id=None)
    assert err.value.code == "access_level_in_use" and err.value.fields == {"holders": 3}
    with pytest.raises(Conflict) as err:
        permissions.check_deletion(level_id="a", is_default=True, holders=0, replacement_id="b")
    assert err.value.code == "default_access_level"
    with pytest.raises(Invalid) as bad:
        permissions.check_deletion(level_id="a", is_default=False, holders=1, replacement_id="a")
    assert bad.value.code == "replacement_invalid"
