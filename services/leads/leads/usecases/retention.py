"""The retention sweep (issue 12 §2; terms 3.B.iv, 3.B.v and art. 10; GDPR art. 5.1.e):
a timer (``RETENTION_SWEEP_INTERVAL_SECONDS``, hourly) erases what is due on the platform
clock's Paris day.

* **Leads of an ended office**, ``OFFICE_RETENTION_MONTHS`` (default 6) after the office
  closed (``offices.ended_at``, the first ``subscription_ended`` that closed it). Why 6:
  the terms disagree, 3.B.v says the office's leads are kept 6 months after its end,
  art. 10 speaks of 12 months. As processor the platform may keep the users' data no
  longer than the contract allows; 6 months satisfies both clauses (nothing in art. 10
  requires keeping the leads longer: its 12 months are the *account* data, which accounts
  keeps), 12 would breach 3.B.v. The stricter term is the default; a longer one is a
  setting, i.e. a decision someone has to take on purpose. Their office copies are wiped
  (``office.wiping``: record, initial record, key and so history values, search keys,
  notes, claim evidence) and hidden as deleted, and their captured copies (``leads.pii``
  under the buyer's key) emptied; the mailer hears ``office_leads_erased``
  (reason ``retention``) and forgets the e-mail history.
* **Unsold stock**, ``UNSOLD_RETENTION_MONTHS`` (default 36: three years from capture, the
  CNIL's usual term for prospects): captured leads never sold (withdrawn, duplicates)
  lose their ``pii`` and blind indexes; the duplicate index of persons not captured since
  (``contacts``, older than both that term and the duplicate window) goes too.
* **Consent proofs of the sites' forms** (``site_consents``: the notice a visitor saw,
  its version, the page, when) are kept as long as the lead they prove keeps its data,
  and no longer: once that lead is wiped (its owner deleted it, alone or in bulk, the
  office's term above came, or the end of contract), the proof names nobody (it holds no
  identifier of its own) and proves nothing, so it goes at the next sweep; the person's
  erasure request deletes it at once (``usecases.subjects``). Why not "the lead's life
  plus the limitation period": as processor the platform keeps the users' office data no
  longer than 3.B.v allows ("l'ensemble des données liées à l'UTILISATEUR seront
  automatiquement supprimées" six months after the office ends), and a proof kept past
  its lead could only prove anything with an identifier of the person kept with it,
  which an erasure must not leave. Keeping the proof for the limitation period is the
  controller's decision and record: the consents are in the lead they see, in the access
  export and in the archive returned at the end of contract.

Exact to the day (``suivi_common.months.due_through``): what falls due on day D is erased by
the first sweep of day D, never before. Idempotent and resumable: each batch
(``RETENTION_BATCH``) is its own transaction and picks only rows that still hold data
(``FOR UPDATE SKIP LOCKED``), so a crash loses at most the batch in flight, a second
instance shares the work, and a sweep with nothing due changes nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import eventlet
from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from leads.domain.office_records import ERASED_AT_RETENTION
from leads.domain.retention import DEFAULT_OFFICE_MONTHS, DEFAULT_UNSOLD_MONTHS
from leads.models import office_leads, offices
from leads.settings import TUNABLES as LEADS
from leads.usecases import documents
from leads.usecases.context import Ctx
from leads.usecases.office import wiping
from suivi_common import clock
from suivi_common.database import rows_affected
from suivi_common.months import due_through
from suivi_common.settings import Tunables

log = logging.getLogger(__name__)

TUNABLES = Tunables(
    OFFICE_RETENTION_MONTHS=DEFAULT_OFFICE_MONTHS,
    UNSOLD_RETENTION_MONTHS=DEFAULT_UNSOLD_MONTHS,
    RETENTION_BATCH=1000,
    RETENTION_SWEEP_INTERVAL_SECONDS=3600,
)


def cutoffs(today: Any) -> tuple[datetime, datetime]:
    """(offices ended before, leads captured before): the instants before which records
    are due today (Paris midnight after the last due day)."""
    office = due_through(today, TUNABLES.get_int("OFFICE_RETENTION_MONTHS"))
    unsold = due_through(today, TUNABLES.get_int("UNSOLD_RETENTION_MONTHS"))
    return (clock.paris_midnight(office + timedelta(days=1)),
            clock.paris_midnight(unsold + timedelta(days=1)))


def _ended_offices(ended_before: datetime) -> Any:
    return select(offices.c.user_id).where(offices.c.active.is_(False),
                                           offices.c.ended_at < ended_before)


def due_holders(ended_before: datetime, limit: int) -> Any:
    """Up to ``limit`` owners of offices ended before ``ended_before`` that still hold
    data, in user id order."""
    return (_ended_offices(ended_before).where(
        exists().where(office_leads.c.owner_id == offices.c.user_id, wiping.HOLDS))
        .order_by(offices.c.user_id).limit(limit))


def office_batch(session: Session, emit: wiping.Emit, ended_before: datetime, now: datetime,
                 limit: int) -> int:
    """Erase one batch of leads of offices ended before ``ended_before``.

    Owner by owner (user id order), each owner's rows in id order: both the owners that
    still hold data and their rows come from ``ix_office_owner_holding`` (partial on "holds
    data", deleted rows included), so a batch reads the rows it wipes and no more. Picking
    across every due owner at once in id order (an ``IN`` over the ended offices) matched
    no index (every owner index is partial on ``deleted_at IS NULL``) and re-read and
    sorted all the due rows at every batch."""
    ids: list[Any] = []
    for owner in session.execute(due_holders(ended_before, limit)).scalars():
        ids += wiping.pick(session, [office_leads.c.owner_id == owner], limit - len(ids))
        if len(ids) >= limit:
            break
    return wiping.wipe(session, emit, ids, now, reason=ERASED_AT_RETENTION, actor="leads",
                       source="system", via="retention", erase=True)


_DUE_UNSOLD = text("""
SELECT l.id FROM leads l
WHERE l.pii IS NOT NULL AND l.captured_at < :captured_before
  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.lead_id = l.id)
ORDER BY l.captured_at, l.id LIMIT :limit FOR UPDATE OF l SKIP LOCKED
""")

_DUE_SOLD = text("""
SELECT l.id FROM leads l
JOIN deliveries d ON d.lead_id = l.id JOIN offices o ON o.user_id = d.user_id
WHERE l.pii IS NOT NULL AND NOT o.active AND o.ended_at < :ended_before
ORDER BY l.id LIMIT :limit FOR UPDATE OF l SKIP LOCKED
""")

_WIPE_CAPTURED = text("""
WITH gone AS (DELETE FROM stock WHERE lead_id = ANY(:ids) RETURNING lead_id)
UPDATE leads l SET pii = NULL, email_bidx = NULL, mobile_bidx = NULL, landline_bidx = NULL,
    erased_at = :now,
    withdrawn_at = CASE WHEN l.id IN (SELECT lead_id FROM gone)
                        THEN coalesce(l.withdrawn_at, :now) ELSE l.withdrawn_at END
WHERE l.id = ANY(:ids) AND l.pii IS NOT NULL
""")


def captured_batch(session: Session, captured_before: datetime, ended_before: datetime,
                   now: datetime, limit: int) -> int:
    """Empty one batch of captured copies: unsold past their term, or sold to an office
    past its own."""
    ids = list(session.execute(_DUE_UNSOLD, {"captured_before": captured_before,
                                             "limit": limit}).scalars())
    if len(ids) < limit:
        ids += session.execute(_DUE_SOLD, {"ended_before": ended_before,
                                           "limit": limit - len(ids)}).scalars()
    if ids:
        session.execute(_WIPE_CAPTURED, {"ids": ids, "now": now})
    return len(ids)


_OLD_CONTACTS = text("""
DELETE FROM contacts WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM contacts WHERE last_accepted_at < :before
    LIMIT :limit FOR UPDATE SKIP LOCKED))
""")


_SPENT_CONSENTS = text("""
DELETE FROM site_consents WHERE id = ANY(ARRAY(
    SELECT c.id FROM site_consents c JOIN office_leads l ON l.id = c.lead_id
    WHERE l.data IS NULL AND l.lead_key IS NULL
    ORDER BY c.id LIMIT :limit FOR UPDATE OF c SKIP LOCKED))
""")


def consents_batch(session: Session, limit: int) -> int:
    """Delete one batch of consent proofs whose lead no longer holds data (see the
    module). Each sweep reads ``site_consents`` once through the leads' primary key: the
    table grows with the sites' forms only, far slower than the leads."""
    return rows_affected(session.execute(_SPENT_CONSENTS, {"limit": limit}))


def contacts_batch(session: Session, before: datetime, limit: int) -> int:
    return rows_affected(session.execute(_OLD_CONTACTS, {"before": before, "limit": limit}))


def _drain(ctx: Ctx, step: Callable[[Session, Callable[..., Any]], int], limit: int) -> int:
    """Run ``step`` batch after batch, each in its own transaction, until one falls short."""
    total = 0
    while True:
        with ctx.separate() as tx:
            done = step(tx, lambda event, payload: ctx.db.emit(event, payload, session=tx))
        total += done
        if done < limit:
            return total
        eventlet.sleep(0)  # a long sweep leaves the instance's other workers their turn


def sweep(ctx: Ctx) -> dict[str, Any]:
    """Erase everything due today (see the module); returns the counts."""
    today, now = clock.today(), clock.now()
    ended_before, captured_before = cutoffs(today)
    window = timedelta(days=LEADS.get_int("DUPLICATE_WINDOW_DAYS"))
    contacts_before = min(captured_before, now - window)
    limit = TUNABLES.get_int("RETENTION_BATCH")
    office = _drain(ctx, lambda tx, emit: office_batch(tx, emit, ended_before, now, limit),
                    limit)
    captured = _drain(ctx, lambda tx, emit: captured_batch(tx, captured_before, ended_before,
                                                           now, limit), limit)
    old_contacts = _drain(ctx, lambda tx, emit: contacts_batch(tx, contacts_before, limit),
                          limit)
    docs = _drain(ctx, lambda tx, emit: documents.retention_batch(tx, ended_before, limit),
                  limit)  # the office's work documents, on its leads' term
    consents = _drain(ctx, lambda tx, emit: consents_batch(tx, limit), limit)
    result = {"date": today.isoformat(), "office_leads": office, "captured_leads": captured,
              "contacts": old_contacts, "documents": docs, "site_consents": consents,
              "offices_ended_before": ended_before.isoformat(),
              "captured_before": captured_before.isoformat()}
    if office or captured or old_contacts or docs or consents:
        log.info("retention sweep %s", result)
    return result
