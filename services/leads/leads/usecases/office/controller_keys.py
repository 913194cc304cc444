"""Moving office data from the network's key to its owner's own key (annex IV.12).

Until controller keys, every office row was sealed under its network's key, so the end of
one controller's contract could not shred their data without shredding their whole
network's. New rows are written under ``<network>/<owner>`` (``office_scope``); the rows
written before (``key_scope`` None) are re-keyed here, in batches, by a timer: each row's
record, initial record, the lead's own key (its history values stay sealed by it, so they
need no rewrite), blind indexes, notes and claim texts are decrypted under the network's
key and sealed again under the owner's, then ``key_scope`` says so.

Rows are picked ``FOR UPDATE SKIP LOCKED`` in (owner, id) order, through the partial
index of what is left: instances never wait on each other or on an edit, a crash resumes
where it stopped, and once all is moved a run costs one empty index scan.

Backups: a backup taken before a row was re-keyed still holds it under the network's key;
shredding the controller's key does not reach that copy, which goes only when that
backup expires. Run the re-keying early, not at the end of a contract.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, text, update

from leads.models import office_leads, office_notes, refund_claims
from leads.usecases.office.context import (
    OfficeCtx,
    decrypt_json,
    encrypt_json,
    office_scope,
    unwrap_lead_key,
    wrap_lead_key,
)
from leads.usecases.office.one_lead import WIPED, blind_indexes
from suivi_common.crypto import KeyDestroyed

T = office_leads
BATCH = 500
#: rows still under their network's key that hold something readable
LEGACY = (T.c.key_scope.is_(None), or_(T.c.data.is_not(None), T.c.lead_key.is_not(None)))


def _rekey_lead(ctx: OfficeCtx, row: Any) -> None:
    old, new = row.network_id, office_scope(row.network_id, row.owner_id)
    vault = ctx.vault
    data = decrypt_json(vault, old, "office_leads", "data", row.id, row.data)
    initial = decrypt_json(vault, old, "office_leads", "initial_data", row.id, row.initial_data)
    key = unwrap_lead_key(vault, old, row.id, row.lead_key)
    values: dict[str, Any] = {
        "key_scope": new,
        "data": encrypt_json(vault, new, "office_leads", "data", row.id, data),
        "initial_data": encrypt_json(vault, new, "office_leads", "initial_data", row.id,
                                     initial),
        "lead_key": wrap_lead_key(vault, new, row.id, key) if key is not None else None,
        **(blind_indexes(vault, new, data) if data is not None else {})}
    ctx.session.execute(update(T).where(T.c.id == row.id).values(**values))
    notes = ctx.session.execute(select(office_notes.c.id, office_notes.c.text).where(
        office_notes.c.lead_id == row.id)).all()
    for n in notes:
        clear = vault.decrypt(old, "office_notes", "text", n.id, n.text)
        ctx.session.execute(update(office_notes).where(office_notes.c.id == n.id).values(
            text=vault.encrypt(new, "office_notes", "text", n.id, clear)))
    c = refund_claims
    for claim in ctx.session.execute(select(c).where(c.c.lead_id == row.id,
                                                     c.c.key_scope.is_(None))).all():
        moved = {col: vault.encrypt(new, "refund_claims", col, claim.id,
                                    vault.decrypt(old, "refund_claims", col, claim.id,
                                                  getattr(claim, col)))
                 for col in ("comment", "checks", "decision_comment")}
        ctx.session.execute(update(c).where(c.c.id == claim.id).values(key_scope=new, **moved))


def rekey_batch(ctx: OfficeCtx, limit: int = BATCH, owner_id: str | None = None,
                network_id: str | None = None) -> int:
    """Re-key up to ``limit`` rows still under their network's key (one owner's, or one
    network's, if given); returns how many. A row whose network key was shredded holds
    nothing readable: its ciphertext is dropped, so it is not picked again."""
    where = [*LEGACY] + ([T.c.owner_id == owner_id] if owner_id is not None else []) \
        + ([T.c.network_id == network_id] if network_id is not None else [])
    rows = ctx.session.execute(select(T).where(*where).order_by(T.c.owner_id, T.c.id)
                               .limit(limit).with_for_update(skip_locked=True)).all()
    if rows:
        # the initial record's ciphertext changes, its value does not: the guard's one
        # let-through for the initial record (as a rectification's)
        ctx.session.execute(text("SET LOCAL suivi.rectification = 'on'"))
    moved = 0
    for row in rows:
        try:
            _rekey_lead(ctx, row)
        except KeyDestroyed:
            ctx.session.execute(update(T).where(T.c.id == row.id).values(**WIPED))
            continue
        moved += 1
    return moved


def rekey_owner(ctx: OfficeCtx, owner_id: str) -> int:
    """Every row of one owner still under the network's key (before reading their data
    for the end of contract); returns how many."""
    total = 0
    while True:
        n = rekey_batch(ctx, BATCH, owner_id)
        total += n
        if n < BATCH:
            return total


def done(ctx: OfficeCtx) -> bool:
    """Whether every office row is under its owner's key."""
    return ctx.session.execute(select(T.c.id).where(*LEGACY).limit(1)).first() is None
