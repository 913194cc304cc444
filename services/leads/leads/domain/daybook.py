"""A plan's day book: how many leads it may still receive today, and its shortfall.

Shortfall is the part of today's quota the platform could not supply (terms art. 8.B:
not the user's fault, so plans keeps it owed); the rest of an untaken quota is forfeited
(art. 3.B.iii). The rule applied after every take and every auto-delivery run:

- the request was served in full (or nothing was asked): the shortfall can only shrink,
  to what is still untaken (``min(previous, quota - taken)``): stock that arrived later
  and was delivered is no longer missing;
- stock fell short of the request: everything still untaken today is shortfall
  (``quota - taken``), since stock was empty for the rest at that moment. A user who
  found no stock in the morning keeps that shortfall even without coming back.

``taken + shortfall`` never exceeds the quota, so plans' forfeit
``quota - taken - shortfall`` is never negative.

This is only what is known during the day, from the requests that were made. At the
day close, ``domain.shortfall`` keeps this recorded shortfall and adds the part of the
untaken quota that the group's stock could not have served that day, whether or not
anybody asked (the report plans receives).
"""

from __future__ import annotations


def remaining_today(quota_today: int, taken_today: int) -> int:
    return max(0, quota_today - taken_today)


def take_size(quota_today: int, taken_today: int, requested: int | None) -> int:
    """How many leads a take asks the stock for: the rest of today's quota, or fewer."""
    rest = remaining_today(quota_today, taken_today)
    if requested is None:
        return rest
    if requested < 0:
        raise ValueError("requested must be >= 0")
    return min(rest, requested)


def shortfall_after(quota_today: int, taken_after: int, previous: int, asked: int,
                    served: int) -> int:
    """The day's shortfall after a delivery that asked for ``asked`` and got ``served``."""
    if served > asked:
        raise ValueError("served cannot exceed asked")
    untaken = remaining_today(quota_today, taken_after)
    if served < asked:
        return untaken
    return min(max(previous, 0), untaken)
