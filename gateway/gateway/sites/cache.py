"""A short-lived cache of the public sites' content, in each gateway process.

A public page (``/s/{slug}/``, ``/s/{slug}/opportunite``, ``/b/{slug}/``) needs what
accounts answers for it (``public_site``, ``public_boutique``: the template with the
member's overrides, their coordinates, whether the office is open). Asking on every
visit costs a round trip and several SQL statements for content that changes a few times
a day, so the answer (a "not found" too) is kept here for ``SITE_CACHE_SECONDS``
(default 2 s). The page itself is still rendered for every request (its form token is
signed afresh), and what a visitor sends is still checked by leads (office open, rate,
duplicates) in the transaction that stores it.

**The bound.** A change shows on a public page at most ``SITE_CACHE_SECONDS`` after it is
committed, on every gateway instance:

* an admin's page, image or boutique edit, and a member's override, settings or photo,
  made through this gateway process, empty the cache at once (``clear``): they show on
  the next request here, within the bound on the other instances;
* what changes elsewhere (a subscription ending or renewed, an account suspended or
  erased): within the bound. A site whose office closes answers ``410`` at most
  ``SITE_CACHE_SECONDS`` later; a change of the platform's day (a subscription ends at
  midnight, or the development clock is moved) is a new key, so it is never served a
  day's stale answer.

``SITE_CACHE_SECONDS=0`` turns the cache off. The cache holds at most ``MAX_ENTRIES``
answers; past that it starts again empty (a scan of made-up slugs cannot grow it).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from suivi_common import clock
from suivi_common.errors import NotFound
from suivi_common.settings import setting

DEFAULT_SECONDS = 2.0
MAX_ENTRIES = 4096

_entries: dict[tuple[str, ...], tuple[float, Any]] = {}
_MISSING = object()


def ttl() -> float:
    try:
        return max(0.0, float(setting("SITE_CACHE_SECONDS", DEFAULT_SECONDS)))
    except (TypeError, ValueError):
        return DEFAULT_SECONDS


def clear() -> None:
    """Forget everything (after a change of a page, a boutique or a member's site)."""
    _entries.clear()


def cached(key: tuple[str, ...], load: Callable[[], dict[str, Any]],
           now: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """``load()``'s answer for ``key`` (and this platform day), kept ``ttl()`` seconds; a
    ``NotFound`` is kept too and raised again. A copy is returned: callers may add keys."""
    seconds = ttl()
    if seconds <= 0:
        return dict(load())
    full = (*key, clock.today().isoformat())
    hit = _entries.get(full)
    moment = now()
    if hit is not None and moment - hit[0] < seconds:
        value = hit[1]
    else:
        try:
            value = load()
        except NotFound:
            value = _MISSING
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[full] = (moment, value)
    if value is _MISSING:
        raise NotFound("No such site")
    return dict(value)
