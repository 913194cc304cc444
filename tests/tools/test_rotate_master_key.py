"""The master-key rotation tool says the rotation is finished only when it is."""
from __future__ import annotations

from tools.rotate_master_key import problems


def report(service: str, key: str = "aa", left: int = 0) -> dict[str, object]:
    return {"service": service, "master_key_id": key, "rewrapped": 0, "unchanged": 1,
            "left_under_old_master": left, "previous_master_keys": 1}


def test_finished_when_every_service_is_on_one_key_with_nothing_left() -> None:
    assert problems([report("accounts"), report("leads")]) == []


def test_a_service_on_another_key_or_with_keys_left_is_not_finished() -> None:
    assert "same master key" in problems([report("accounts"), report("leads", "bb")])[0]
    assert problems([report("accounts"), report("leads", left=2)]) == [
        "leads: 2 key(s) still under an old master key"]
