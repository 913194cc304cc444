"""Rate limits of ``POST /api/capture/leads`` per capture key and per source address
(issue 14 §3; rule: ``leads.domain.rate_limits``; settings ``CAPTURE_RATE_*``).

Counters live in the leads database (``capture_rate_windows``), so the limits hold across
instances. A request is counted in a transaction of its own, committed before the batch is
stored: the batch's transaction never holds the counter's row lock (parallel batches of a
site are not serialised), and a request refused here has stored nothing. A request
counted whose batch then fails was not answered with accepted leads: nothing is lost, the
site retries. The gateway peeks (``check``) before it reads an upload, then the capture
counts (``count``, in the transaction where it also finds the site by its key, before the
worker's own transaction takes a connection: a capture never holds two).
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from leads.domain.rate_limits import Window, over_limit, window_of
from leads.models import capture_rate_windows as windows
from leads.settings import TUNABLES
from suivi_common.crypto import Vault
from suivi_common.errors import RateLimited

Limits = list[tuple[str, int]]


def limits(vault: Vault, site_id: uuid.UUID, client_ip: str | None) -> Limits:
    """``(subject, limit)`` of the request, in lock order. The address is kept only as a
    keyed hash (it is personal data, and the counter needs no more)."""
    subjects = [(f"key:{site_id}", TUNABLES.get_int("CAPTURE_RATE_PER_KEY"))]
    if client_ip:
        digest = hmac.new(vault.subkey("capture-rate-ip"), client_ip.encode(), hashlib.sha256)
        subjects.append((f"ip:{digest.hexdigest()[:40]}", TUNABLES.get_int("CAPTURE_RATE_PER_IP")))
    return sorted(subjects)


def site_limits(vault: Vault, client_ip: str | None) -> Limits:
    """The capture forms of the users' sites: per source address, every site together
    (a bot moving from one member's site to the next is the same bot)."""
    if not client_ip:
        return []
    digest = hmac.new(vault.subkey("capture-rate-ip"), client_ip.encode(), hashlib.sha256)
    return [(f"site-ip:{digest.hexdigest()[:40]}", TUNABLES.get_int("SITE_FORM_RATE_PER_IP"))]


def _window(now: datetime) -> Window:
    return window_of(now, TUNABLES.get_int("CAPTURE_RATE_WINDOW_SECONDS"))


def _refuse(subject: str, window: Window, now: datetime) -> RateLimited:
    what = "capture key" if subject.startswith("key:") else "address"
    return RateLimited(f"Too many capture requests for this {what}; retry later",
                       window.retry_after(now), code="capture_rate_limited")


def check(session: Session, subjects: Limits, now: datetime) -> None:
    """Refuse (429) a request whose subject has used up its window, counting nothing."""
    window = _window(now)
    hits = dict(session.execute(select(windows.c.subject, windows.c.hits).where(
        windows.c.window_start == window.start,
        windows.c.subject.in_([s for s, _ in subjects]))).tuples().all())
    for subject, limit in subjects:
        if over_limit(hits.get(subject, 0) + 1, limit):
            raise _refuse(subject, window, now)


def count(tx: Session, subjects: Limits, now: datetime) -> RateLimited | None:
    """Count the request for each subject in ``tx`` (a transaction of its own, to commit
    even when the request is refused); the refusal (429) to raise once it has committed,
    or None."""
    window = _window(now)
    refused = None
    old = select(windows.c.window_start, windows.c.subject).where(
        windows.c.window_start < window.start).with_for_update(skip_locked=True)
    tx.execute(delete(windows).where(tuple_(windows.c.window_start, windows.c.subject)
                                     .in_(old)))  # skip locked: no waits, no deadlocks
    for subject, limit in subjects:
        stmt = insert(windows).values(window_start=window.start, subject=subject, hits=1)
        hits = tx.execute(stmt.on_conflict_do_update(
            index_elements=[windows.c.window_start, windows.c.subject],
            set_={"hits": windows.c.hits + 1}).returning(windows.c.hits)).scalar_one()
        if refused is None and over_limit(hits, limit):
            refused = _refuse(subject, window, now)
    return refused
