"""A service's tunables: nameko config, then the environment, then the declared default,
read at each use; an empty value is the default and an undeclared key fails loudly."""
from __future__ import annotations

import pytest
from nameko import config

from suivi_common.settings import Tunables
from suivi_common.timers import ConfigTimer

TUNABLES = Tunables(SUIVI_TEST_BATCH=100, SUIVI_TEST_TIMEOUT_SECONDS=2.5, SUIVI_TEST_NAME=None)


def test_the_default_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUIVI_TEST_BATCH", raising=False)
    with config.patch({}, clear=True):
        assert TUNABLES.get_int("SUIVI_TEST_BATCH") == 100
        assert TUNABLES.get_float("SUIVI_TEST_TIMEOUT_SECONDS") == 2.5
        assert TUNABLES.get("SUIVI_TEST_NAME") is None


def test_config_wins_over_the_environment_read_at_each_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUIVI_TEST_BATCH", "7")
    with config.patch({}, clear=True):
        assert TUNABLES.get_int("SUIVI_TEST_BATCH") == 7
        with config.patch({"SUIVI_TEST_BATCH": 9}):
            assert TUNABLES.get_int("SUIVI_TEST_BATCH") == 9
        monkeypatch.setenv("SUIVI_TEST_BATCH", "8")
        assert TUNABLES.get_int("SUIVI_TEST_BATCH") == 8


def test_an_empty_value_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUIVI_TEST_BATCH", "")
    monkeypatch.setenv("SUIVI_TEST_NAME", "")
    with config.patch({}, clear=True):
        assert TUNABLES.get_int("SUIVI_TEST_BATCH") == 100
        assert TUNABLES.get("SUIVI_TEST_NAME") is None


def test_an_undeclared_key_is_an_error() -> None:
    with pytest.raises(KeyError):
        TUNABLES.get("SUIVI_TEST_TYPO")


def test_a_timer_defaults_to_the_declared_interval() -> None:
    decorated = TUNABLES.timer("SUIVI_TEST_TIMEOUT_SECONDS")(lambda self: None)
    [timer] = [e for e in decorated.nameko_entrypoints if isinstance(e, ConfigTimer)]  # type: ignore[attr-defined]
    assert (timer.key, timer.default) == ("SUIVI_TEST_TIMEOUT_SECONDS", 2.5)
