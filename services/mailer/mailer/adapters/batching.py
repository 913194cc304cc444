"""Group commit for handlers that each send one email: the workers handling such events at
the same moment send their emails as one batch.

Why: compliance asks for a breach notice with one event per controller (10,000 for a large
breach, issue 12 section 7). Handled one by one, each notice paid a question to accounts,
an SMTP connection of its own and two ledger transactions. Here the first worker to come
(the *leader*) opens a group and waits a moment (``linger``) for the others; then it does
the group's work once (``run(items)``: one ``senders`` question, one SMTP connection, one
ledger statement before the send and one after) and hands every member its own outcome.
Each member's handler then goes on exactly as alone: its inbox claim, its lock and its
transaction stay its own, so redelivery, retries and dead letters are those of one event.

A leader killed or failing hands the failure to every member (they raise, and their
events are retried); ``timeout`` is only a safety net (the SMTP adapter's timeouts and
``system_emails.BATCH_FAILURES`` bound a batch): a member that gave up waiting releases
its lock while the leader may still send its email. One ``GroupCommit``
per container (``Batcher``): a leader only ever works for its own service's database.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider

from suivi_common.errors import ServiceUnavailable
from suivi_common.settings import setting

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class _Group(Generic[Item]):
    def __init__(self) -> None:
        self.items: list[Item] = []
        self.outcomes: Sequence[Any] = ()
        self.error: BaseException | None = None
        self.closed = False
        self.done = Event()


class GroupCommit(Generic[Item, Outcome]):
    """``submit(item, run)`` -> this item's outcome of ``run(group's items)``."""

    def __init__(self, max_size: int = 50, linger: float = 0.01,
                 timeout: float = 3600.0) -> None:
        self.max_size = max(1, max_size)
        self.linger = max(0.0, linger)
        self.timeout = timeout
        self._open: _Group[Item] | None = None

    def submit(self, item: Item, run: Callable[[list[Item]], Sequence[Outcome]]) -> Outcome:
        group = self._open
        if group is not None and not group.closed:
            return self._follow(group, item)
        return self._lead(item, run)

    def _follow(self, group: _Group[Item], item: Item) -> Outcome:
        index = len(group.items)
        group.items.append(item)
        if len(group.items) >= self.max_size:
            self._close(group)
        with eventlet.Timeout(self.timeout, False):
            group.done.wait()
        if not group.done.ready():
            raise ServiceUnavailable("the email batch this one joined did not finish")
        if isinstance(group.error, Exception):
            raise group.error
        if group.error is not None:  # the leader was killed: this member was not
            raise ServiceUnavailable("the email batch this one joined was stopped")
        return group.outcomes[index]  # type: ignore[no-any-return]

    def _lead(self, item: Item, run: Callable[[list[Item]], Sequence[Outcome]]) -> Outcome:
        group: _Group[Item] = _Group()
        group.items.append(item)
        self._open = group
        try:
            try:
                if self.max_size > 1 and self.linger:
                    eventlet.sleep(self.linger)  # the others handling such events join
            finally:
                self._close(group)
            group.outcomes = list(run(group.items))
            if len(group.outcomes) != len(group.items):
                raise AssertionError("a batch must give one outcome per item")
        except BaseException as exc:  # killed too (even while lingering): no member
            group.error = exc            # waits for nothing
            raise
        finally:
            group.done.send(None)
        return group.outcomes[0]  # type: ignore[no-any-return]

    def _close(self, group: _Group[Item]) -> None:
        group.closed = True
        if self._open is group:
            self._open = None


class Batcher(DependencyProvider):
    """The container's ``GroupCommit`` for notices to controllers (``NOTICE_BATCH``
    emails at most, ``NOTICE_BATCH_LINGER_MS`` of waiting for them)."""

    def setup(self) -> None:
        self.groups: GroupCommit[Any, Any] = GroupCommit(
            max_size=int(setting("NOTICE_BATCH", 50)),
            linger=float(setting("NOTICE_BATCH_LINGER_MS", 10)) / 1000.0)

    def get_dependency(self, worker_ctx: Any) -> GroupCommit[Any, Any]:
        return self.groups
