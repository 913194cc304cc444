"""Statistics models an admin defines (admin tool 3): a name, a metric, a grouping and a
window of days. The vocabulary is the platform's (``suivi_common.stats``): the counting
services read the same names, so a model can never name what nobody counts.

``kind`` (distribution or construction, issue 13 §1) groups the office's leads; the
other metrics (claims, e-mails, take rate) are not cut by kind.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from suivi_common import stats
from suivi_common.errors import Invalid

NAME_MAX = 100
DEFAULT_WINDOW_DAYS = 30


@dataclass(frozen=True)
class StatModel:
    name: str
    metric: str
    grouping: str
    window_days: int


def clean(body: object) -> StatModel:
    """The model an admin sent, or ``Invalid`` naming every bad field at once."""
    data: dict[str, Any] = body if isinstance(body, dict) else {}
    fields: dict[str, str] = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        fields["name"] = "The model needs a name."
    elif len(" ".join(name.split())) > NAME_MAX:
        fields["name"] = f"At most {NAME_MAX} characters."
    metric, grouping = data.get("metric"), data.get("grouping")
    if metric not in stats.OWNER:
        fields["metric"] = f"One of {', '.join(stats.METRICS)}."
    elif grouping not in stats.ALLOWED[str(metric)]:
        fields["grouping"] = f"With {metric}: one of {', '.join(stats.ALLOWED[str(metric)])}."
    window = data.get("window_days", DEFAULT_WINDOW_DAYS)
    if isinstance(window, bool) or not isinstance(window, int) or not (
            1 <= window <= stats.MAX_WINDOW_DAYS):
        fields["window_days"] = f"A whole number of days from 1 to {stats.MAX_WINDOW_DAYS}."
    if fields:
        raise Invalid("The statistics model is not valid", fields=fields)
    assert isinstance(name, str) and isinstance(window, int)
    return StatModel(" ".join(name.split()), str(metric), str(grouping), window)
