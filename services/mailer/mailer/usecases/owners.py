"""The owner of an automation's email, as accounts describes them (``get_user``), kept a
few seconds per process.

Why a cache is safe here, and only here: it is read by ``automations.ready`` only after
accounts has just said, uncached, that the owner's office is open (``office_active``,
asked for every email), so a cached entry can never let an email leave for a closed
office or an account that is gone; the only thing it may hold back is an edit of the
owner's own name, address or phone, which reaches the emails at most
``LEAD_MAIL_OWNER_CACHE_SECONDS`` (10) later. No event tells the mailer of such an edit,
hence the short time-to-live rather than an invalidation. Office sends, retries and
system emails ask accounts every time. Bounded (``MAX_OWNERS``, least recently used
out), per process, nothing written anywhere; a refusal (NotFound) is never kept.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from mailer.usecases.context import Ctx

MAX_OWNERS = 2048


class TtlCache:
    """A small LRU whose entries expire (monotonic clock). Green threads only switch on
    I/O, so its dictionary operations need no lock."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= time.monotonic():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: str, value: Any, ttl: float) -> None:
        self._items[key] = (time.monotonic() + ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


_OWNERS = TtlCache(MAX_OWNERS)


def owner_of_open_office(ctx: Ctx, user_id: str) -> Mapping[str, Any]:
    """``accounts.get_user(user_id)`` for an owner whose office was just found open (see
    the module: only then may the answer be a few seconds old)."""
    ttl = ctx.settings.owner_cache_seconds
    if ttl > 0:
        cached = _OWNERS.get(user_id)
        if cached is not None:
            return dict(cached)
    user = dict(ctx.accounts.get_user(user_id))
    if ttl > 0:
        _OWNERS.put(user_id, dict(user), ttl)  # the caller's copy is its own
    return user
