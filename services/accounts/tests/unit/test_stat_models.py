"""The rules of a statistics model, and of the period one query covers."""
from __future__ import annotations

from datetime import date

import pytest

from accounts.domain import stat_models
from suivi_common import stats
from suivi_common.errors import Invalid


def test_a_model_is_cleaned_and_defaults_to_thirty_days() -> None:
    model = stat_models.clean({"name": "  Won \t per  month ", "metric": "leads_final",
                               "grouping": "month"})
    assert model == stat_models.StatModel("Won per month", "leads_final", "month", 30)


@pytest.mark.parametrize("body, bad", [
    ({"name": "x", "metric": "revenue", "grouping": "week"}, {"metric"}),
    ({"name": "x", "metric": "leads_by_origin", "grouping": "origin"}, {"grouping"}),
    ({"name": "x", "metric": "plan_take_rate", "grouping": "status"}, {"grouping"}),
    ({"name": "x", "metric": "claims", "grouping": "kind"}, {"grouping"}),
    ({"name": "x" * 101, "metric": "claims", "grouping": "week", "window_days": 367},
     {"name", "window_days"}),
    ({"name": "x", "metric": "claims", "grouping": "week", "window_days": True}, {"window_days"}),
    ("not a dict", {"name", "metric"}),
])
def test_bad_models_name_every_bad_field(body: object, bad: set[str]) -> None:
    with pytest.raises(Invalid) as err:
        stat_models.clean(body)
    assert set(err.value.fields or {}) == bad


def test_every_metric_can_be_grouped_by_member_and_by_time() -> None:
    for metric in stats.METRICS:
        assert {"member", "week", "month"} <= set(stats.ALLOWED[metric])
        assert set(stats.ALLOWED[metric]) <= set(stats.GROUPINGS)


def test_the_period_defaults_to_the_window_and_refuses_reversed_or_too_long_ones() -> None:
    today = date(2026, 12, 3)
    assert stats.period(None, None, 7, today) == (date(2026, 11, 27), today)
    assert stats.period("2026-01-01", "2026-01-31", 7, today) == (date(2026, 1, 1),
                                                                   date(2026, 1, 31))
    with pytest.raises(Invalid) as err:
        stats.period("2026-02-01", "2026-01-31", 7, today)
    assert err.value.code == "period_invalid"
    with pytest.raises(Invalid) as err:
        stats.period("2025-01-01", "2026-01-31", 7, today)
    assert err.value.code == "window_too_large"
    for bad in ("yesterday", "0001-01-01", "9999-12-31"):
        with pytest.raises(Invalid) as err:
            stats.period(bad, None, 7, today)
        assert set(err.value.fields or {}) == {"from"}
    with pytest.raises(Invalid) as err:
        stats.period(None, "9999-12-31", 7, today)
    assert set(err.value.fields or {}) == {"to"}


def test_weeks_are_iso_weeks_and_months_calendar_months() -> None:
    assert stats.week_label(date(2026, 1, 1)) == "2026-W01"
    assert stats.week_label(date(2027, 1, 1)) == "2026-W53"
    assert stats.month_label(date(2026, 3, 9)) == "2026-03"
