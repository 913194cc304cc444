"""The one polling helper returns the first truthy value and fails with what it waited for."""
from __future__ import annotations

import itertools

import pytest

from suivi_common.testing.waiting import wait_for


def test_returns_the_first_truthy_value_without_waiting_further() -> None:
    calls = itertools.count()
    assert wait_for(lambda: next(calls) >= 3 and "ready", interval=0) == "ready"
    assert next(calls) == 4  # polled exactly 4 times, then stopped


def test_names_what_it_waited_for_when_the_time_is_up() -> None:
    with pytest.raises(AssertionError, match="the lead in stock not reached"):
        wait_for(lambda: 0, timeout=0, interval=0, what="the lead in stock")
