"""Statistics models (admin tool 3): the vocabulary and the shape every counting service
shares.

A model is a metric, a grouping and a period window. Each metric is counted by the one
service that holds its data (``OWNER``) through its ``stat_counts`` RPC; the gateway asks
accounts who may see what, asks the owner, and shapes the answer.

``stat_counts`` answers rows ``{"series": str, "x": str, "value": number}``: ``series``
is the metric's own category (an origin, a status) or the metric's name, ``x`` the group
(a member id, ``OTHERS``, a status, an origin, an ISO week ``2026-W48``, a month
``2026-12``). Periods are Paris calendar days, both ends included.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from suivi_common import clock
from suivi_common.clock import paris_midnight
from suivi_common.errors import Forbidden, Invalid
from suivi_common.identity import Principal
from suivi_common.permissions import VIEW_STATISTICS, require_permission

#: metric -> the service that counts it
OWNER: dict[str, str] = {
    "leads_received": "leads",
    "leads_by_origin": "leads",
    "leads_by_status": "leads",
    "leads_final": "leads",
    "claims": "leads",
    "emails_sent": "mailer",
    "plan_take_rate": "plans",
}
METRICS: tuple[str, ...] = tuple(OWNER)
GROUPINGS: tuple[str, ...] = ("member", "status", "origin", "kind", "week", "month")
#: groupings a metric can be cut by (a metric already split by origin is not grouped by it)
ALLOWED: dict[str, tuple[str, ...]] = {
    # the office's leads carry a kind (issue 13 §1): distribution or construction
    "leads_received": ("member", "status", "origin", "kind", "week", "month"),
    "leads_by_origin": ("member", "status", "kind", "week", "month"),
    "leads_by_status": ("member", "origin", "kind", "week", "month"),
    "leads_final": ("member", "origin", "kind", "week", "month"),
    "claims": ("member", "status", "week", "month"),
    "emails_sent": ("member", "week", "month"),
    "plan_take_rate": ("member", "week", "month"),
}
#: the longest period one query may cover (and a model's window), in days
MAX_WINDOW_DAYS = 366
#: the group of the members whose admin access is off, seen by the admin (terms art. 5)
OTHERS = "others"
#: the final statuses of a lead's pipeline that are counted as won
FINAL_STATUSES: tuple[str, ...] = ("client", "distributor")


@dataclass(frozen=True)
class Scope:
    """Whose data a count covers: one owner (a member, on their own data) or a whole
    network, with ``split``: the members shown on their own (grouping ``member``), every
    other one folded into ``OTHERS``."""

    network_id: str
    owner_id: str | None
    split: tuple[str, ...]


def scope_for(principal: Principal | None, split: object) -> Scope:
    """The scope a counting service allows its caller: a user counts only their own data;
    an admin their network's, per member only for those the gateway names (the ones whose
    admin access is on, as accounts said). A member's level must grant ``view_statistics``."""
    if principal is None or principal.role not in ("user", "admin") or not principal.network_id:
        raise Forbidden("Statistics are for a network's members")
    if principal.role == "user":
        require_permission(principal, VIEW_STATISTICS)  # as accounts' stat_scope checked
        return Scope(str(principal.network_id), str(principal.user_id), (str(principal.user_id),))
    ids = tuple(str(s) for s in split) if isinstance(split, list) else ()
    return Scope(str(principal.network_id), None, ids)


def check_query(metric: object, grouping: object) -> tuple[str, str]:
    if metric not in OWNER:
        raise Invalid("Unknown metric", fields={"metric": f"one of {', '.join(METRICS)}"},
                      code="metric_unknown")
    assert isinstance(metric, str)
    if grouping not in ALLOWED[metric]:
        raise Invalid("This metric cannot be grouped so",
                      fields={"grouping": f"one of {', '.join(ALLOWED[metric])}"},
                      code="grouping_not_supported")
    assert isinstance(grouping, str)
    return metric, grouping


#: the days a period may start or end on (far dates would overflow the arithmetic)
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


def parse_day(value: object, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            raise Invalid("Not a date", fields={field: "an ISO date, YYYY-MM-DD"}) from None
    if not EARLIEST <= day <= LATEST:
        raise Invalid("The date is out of range",
                      fields={field: f"from {EARLIEST.isoformat()} to {LATEST.isoformat()}"})
    return day


def period(start: object, end: object, window_days: int, today: date) -> tuple[date, date]:
    """The days a query covers: ``from``..``to`` as given, else the model's window ending
    today (or ending ``to``)."""
    last = parse_day(end, "to") if end is not None else today
    first = (parse_day(start, "from") if start is not None
             else max(EARLIEST, last - timedelta(days=window_days - 1)))
    if last < first:
        raise Invalid("The period ends before it starts", fields={"to": "on or after from"},
                      code="period_invalid")
    if (last - first).days + 1 > MAX_WINDOW_DAYS:
        raise Invalid(f"A period covers at most {MAX_WINDOW_DAYS} days",
                      fields={"to": f"at most {MAX_WINDOW_DAYS} days after from"},
                      code="window_too_large")
    return first, last


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants of the period: from Paris midnight of ``first`` to that of the day
    after ``last`` (exclusive)."""
    return paris_midnight(first), paris_midnight(last + timedelta(days=1))


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_label(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def time_label(grouping: str, day: date) -> str:
    return week_label(day) if grouping == "week" else month_label(day)


def row(series: str, x: str, value: Any) -> dict[str, Any]:
    return {"series": series, "x": x, "value": value}


def group_sql(grouping: str, *, time: str, owner: str, status: str = "NULL",
              origin: str = "NULL", kind: str = "NULL") -> str:
    """The SQL expression of a group, over a service's own column names (trusted
    fragments, never user input): a member shown one by one (``:split``) or ``OTHERS``,
    a status, an origin, an office kind, or the Paris week's or month's first day."""
    if grouping == "member":
        return f"CASE WHEN {owner} = ANY(:split) THEN {owner} ELSE '{OTHERS}' END"
    if grouping in ("week", "month"):
        return f"date_trunc('{grouping}', {time} AT TIME ZONE 'Europe/Paris')::date"
    return {"status": status, "origin": origin, "kind": kind}[grouping]


def scope_sql(scope: Scope, *, network: str, owner: str) -> str:
    """The rows of the scope: the network's, and only the owner's for a member."""
    return f"{network} = :network" + (f" AND {owner} = :owner" if scope.owner_id else "")


def params(scope: Scope, first: date, last: date) -> dict[str, Any]:
    start, end = bounds(first, last)
    return {"network": scope.network_id, "owner": scope.owner_id, "split": list(scope.split),
            "start": start, "end": end}


def label(grouping: str, x: Any) -> str:
    """A group as the answer names it (a week or month by its label)."""
    if grouping in ("week", "month") and isinstance(x, date):
        return time_label(grouping, x)
    return str(x)


@dataclass(frozen=True)
class Counted:
    """A checked ``stat_counts`` query: the metric, its grouping, the days it covers and
    the bind parameters every counting statement shares (``params``)."""

    metric: str
    grouping: str
    first: date
    last: date
    params: dict[str, Any]


def counted_query(service: str, who: str, scope: Scope, metric: object, grouping: object,
                  first: object, last: object) -> Counted:
    """The part of ``stat_counts`` every counting service shares, so that the three check
    a query alike: a known metric that ``service`` owns (else ``metric_unknown``, "``who``
    does not count this metric"), a grouping it allows, a period window ending today by
    default."""
    metric, grouping = check_query(metric, grouping)
    if OWNER[metric] != service:
        raise Invalid(f"{who} does not count this metric", fields={"metric": metric},
                      code="metric_unknown")
    day_1, day_n = period(first, last, 1, clock.today())
    return Counted(metric, grouping, day_1, day_n, params(scope, day_1, day_n))
