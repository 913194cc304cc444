"""Moving the e-mail copies from the network's key to their owner's own key (annex IV.12),
as leads moves the office (``leads.usecases.office.controller_keys``).

Until controller keys, every ``lead_emails`` row was sealed under its network's key, so the
end of one controller's contract could only delete their copies, not crypto-shred them.
New rows are sealed under ``<network>/<owner>`` (``lead_emails.seal_scope``); the rows
written before (``key_scope`` None), and the automations' emails the dispatcher renders at
send time under the network's key, are re-keyed here, in batches, by a timer: the address,
subject and bodies are opened under the network's key and sealed again under the owner's,
then ``key_scope`` says so. The opposition index (``to_bidx``) stays under the network's
key (``lead_emails.key_scope``): it cannot be re-keyed, having no address to recompute it.

Rows are picked ``FOR UPDATE SKIP LOCKED`` in (owner, id) order through the partial index
of what is left (``ix_lead_emails_legacy_key``): instances never wait on each other or on
the dispatcher, a crash resumes where it stopped, and once all is moved a run costs one
empty index scan.

Backups: a backup taken before a row was re-keyed still holds it under the network's key;
shredding the controller's key does not reach that copy.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from mailer.models import lead_emails
from mailer.usecases.context import Ctx
from mailer.usecases.lead_emails import seal_scope
from suivi_common.crypto import KeyDestroyed

LE = lead_emails
BATCH = 500
#: the sealed columns (the opposition index ``to_bidx`` is not one: see the module)
SEALED = ("to_address", "subject", "body_text", "body_html")
#: rows still under their network's key that hold something sealed
LEGACY = (LE.c.key_scope.is_(None), LE.c.to_address.is_not(None))


def _moved(ctx: Ctx, row: Any) -> dict[str, Any]:
    new = seal_scope(row.network_id, row.owner_id)
    return {"key_scope": new, **{c: ctx.vault.reseal(row.network_id, new, "lead_emails", c,
                                                    row.id, getattr(row, c)) for c in SEALED}}


def rekey_batch(ctx: Ctx, limit: int = BATCH, owner_id: str | None = None) -> int:
    """Re-key up to ``limit`` rows still under their network's key (one owner's, if given);
    returns how many. A row whose network key was shredded holds nothing readable: its
    ciphertext is dropped, so it is not picked again."""
    return _batch(ctx, limit, owner_id)[1]


def _batch(ctx: Ctx, limit: int, owner_id: str | None) -> tuple[int, int]:
    """(rows picked, rows moved)."""
    where = [*LEGACY] + ([LE.c.owner_id == owner_id] if owner_id is not None else [])
    rows = ctx.session.execute(
        select(LE.c.id, LE.c.owner_id, LE.c.network_id, *(LE.c[c] for c in SEALED))
        .where(*where).order_by(LE.c.owner_id, LE.c.id).limit(limit)
        .with_for_update(skip_locked=True)).all()
    moved = 0
    for row in rows:
        try:
            values = _moved(ctx, row)
        except KeyDestroyed:
            values = {c: None for c in SEALED}
        else:
            moved += 1
        ctx.session.execute(update(LE).where(LE.c.id == row.id).values(**values))
    return len(rows), moved


def rekey_owner(ctx: Ctx, owner_id: str) -> int:
    """Every row of one owner still under the network's key (before the end of contract
    reads their copies); returns how many."""
    total = 0
    while True:
        picked, moved = _batch(ctx, BATCH, owner_id)
        total += moved
        if picked < BATCH:
            return total


def legacy_count(ctx: Ctx, owner_id: str) -> int:
    return int(ctx.session.execute(select(func.count()).select_from(LE).where(
        *LEGACY, LE.c.owner_id == owner_id)).scalar() or 0)
