"""Sub-processor changes: the notice period, what a change must say, statuses and objections."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from compliance.domain import subprocessors as rules
from compliance.domain.requests import RuleError
from compliance.settings import MIN_SUBPROCESSOR_NOTICE_DAYS

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOTICE = timedelta(days=30)


def change(**over: Any) -> dict[str, Any]:
    return {"kind": "add", "name": "Hébergeur SAS", "contact": "1 rue de Paris, dpo@heb.fr",
            "activity": "Hébergement des bases de données", "country": "fr",
            "contract_start": "2026-04-01", "effective_from": (NOW + NOTICE).isoformat(), **over}


def test_a_change_takes_effect_after_the_notice_period_at_the_earliest() -> None:
    parsed = rules.parse_change(change(), NOW, NOTICE)
    assert parsed.country == "FR" and parsed.effective_from == NOW + NOTICE
    with pytest.raises(rules.ChangeProblems) as err:
        rules.parse_change(change(effective_from=(NOW + NOTICE - timedelta(minutes=1)).isoformat()),
                           NOW, NOTICE)
    assert set(err.value.fields) == {"effective_from"}


def test_the_notice_is_never_below_five_days(monkeypatch: pytest.MonkeyPatch) -> None:
    from compliance import settings

    monkeypatch.setenv("SUBPROCESSOR_NOTICE_DAYS", "2")
    assert settings.load().subprocessor_notice == timedelta(days=MIN_SUBPROCESSOR_NOTICE_DAYS)
    monkeypatch.delenv("SUBPROCESSOR_NOTICE_DAYS")
    assert settings.load().subprocessor_notice == timedelta(days=30)


def test_every_bad_field_is_named() -> None:
    with pytest.raises(rules.ChangeProblems) as err:
        rules.parse_change({"kind": "swap", "name": "", "country": "ZZ",
                            "contract_start": "soon", "effective_from": "2026-04-01T00:00:00"},
                           NOW, NOTICE)
    assert set(err.value.fields) == {"kind", "name", "contact", "activity", "country",
                                     "contract_start", "effective_from"}


def test_a_replacement_names_what_it_replaces() -> None:
    with pytest.raises(rules.ChangeProblems) as err:
        rules.parse_change(change(kind="replace"), NOW, NOTICE)
    assert "replaces" in err.value.fields
    with pytest.raises(rules.ChangeProblems):
        rules.parse_change(change(replaces="x"), NOW, NOTICE)
    with pytest.raises(rules.ChangeProblems):
        rules.parse_change(change(contract_end="2026-03-01"), NOW, NOTICE)


def test_statuses() -> None:
    eff = NOW + NOTICE
    assert rules.status(eff, None, NOW) == "announced"
    assert rules.status(eff, None, eff) == "active"
    assert rules.status(eff, None, eff, objected_to_adding=True) == "objected"
    assert rules.status(None, eff, NOW) == "active"
    assert rules.status(None, eff, eff) == "replaced"
    assert rules.status(None, eff, eff, objected_to_replacing=True) == "active"


def test_objections_are_heard_until_the_change_takes_effect() -> None:
    eff = NOW + NOTICE
    assert rules.check_objection(eff, NOW, " Hors UE ") == "Hors UE"
    with pytest.raises(RuleError) as err:
        rules.check_objection(eff, eff, "trop tard")
    assert err.value.code == "change_in_effect"
    with pytest.raises(RuleError):
        rules.check_objection(eff, NOW, "")


def test_the_notice_names_the_activities_identity_and_contract_dates() -> None:
    parsed = rules.parse_change(change(contract_end="2027-03-31"), NOW, NOTICE)
    subject, text = rules.notice_text(parsed, None, "https://app/x")
    assert subject == "Nouveau sous-traitant ultérieur : Hébergeur SAS"
    for expected in ("Hébergement des bases de données", "1 rue de Paris", "France",
                     "01/04/2026", "31/03/2027", "01/04/2026.", "https://app/x"):
        assert expected in text
