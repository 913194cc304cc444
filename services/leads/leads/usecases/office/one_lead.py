"""Use cases on one office lead: arrival (bought or entered), reading, edits, notes, status
moves, deletion by its owner and erasure on its data subject's request.

Ownership is part of every lookup (``owner_id`` in the WHERE clause): another user's lead
is simply not found (terms art. 10.A). Writers lock the lead row, so an edit and a refund
claim on the same lead serialise (a claim sees every edit committed before it).
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from leads.domain import office_records as records
from leads.domain.pipeline import check_transition
from leads.domain.refunds import LeadOrigin, refund_deadline
from leads.models import (
    deliveries,
    entitlements,
    leads,
    office_leads,
    office_notes,
    refund_claims,
    site_consents,
)
from leads.settings import TUNABLES
from leads.usecases.office import history, pipelines
from leads.usecases.office.context import (
    OfficeCtx,
    decrypt_json,
    encrypt_json,
    new_lead_key,
    office_scope,
    scope_of,
    unwrap_lead_key,
    wrap_lead_key,
)
from suivi_common.crypto import KeyDestroyed, Vault
from suivi_common.database import one_row
from suivi_common.errors import Conflict, Invalid, NotFound
from suivi_common.ids import parse_uuid
from suivi_common.kinds import DEFAULT_KIND, parse_kind
from suivi_common.paging import keyset, page

log = logging.getLogger(__name__)

NOTE_MAX = 5000
WIPED: dict[str, Any] = {"data": None, "initial_data": None, "lead_key": None,
                         **{col: None for col in records.BIDX_KINDS}}


# --- storage --------------------------------------------------------------------------------

def load(session: Session, lead_id: Any, owner_id: str | None = None, *, lock: bool = False,
         with_deleted: bool = False) -> Any:
    t, lid = office_leads, parse_uuid(lead_id)
    if lid is None:
        raise NotFound("No such lead")
    query = select(t).where(t.c.id == lid)
    if owner_id is not None:
        query = query.where(t.c.owner_id == owner_id)
    if not with_deleted:
        query = query.where(t.c.deleted_at.is_(None))
    return one_row(session, query, "lead", lock)


def blind_indexes(vault: Vault, scope: str, data: Mapping[str, Any] | None) -> dict[str, Any]:
    keys = records.search_keys(data)
    return {col: vault.blind_index(scope, records.BIDX_KINDS[col], keys[col]) for col in keys}


def encrypted_columns(vault: Vault, scope: str, lead_id: Any,
                      data: Mapping[str, Any] | None) -> dict[str, Any]:
    """``data``, ``initial_data``, ``lead_key`` and the blind indexes of a new lead."""
    if data is None:
        return dict(WIPED)
    return {"data": encrypt_json(vault, scope, "office_leads", "data", lead_id, data),
            "initial_data": encrypt_json(vault, scope, "office_leads", "initial_data", lead_id,
                                         data),
            "lead_key": wrap_lead_key(vault, scope, lead_id, new_lead_key()),
            **blind_indexes(vault, scope, data)}


def lead_row(vault: Vault, *, lead_id: uuid.UUID, owner_id: str, network_id: str,
             origin: LeadOrigin, status: str, created_at: datetime,
             data: Mapping[str, Any] | None, plan_id: str | None = None,
             plan_country: str | None = None, delivered_at: datetime | None = None,
             erased_at: datetime | None = None, now: datetime | None = None,
             kind: str = DEFAULT_KIND) -> dict[str, Any]:
    """One new office row, encrypted. A lead whose network was shredded (``KeyDestroyed``)
    is filed empty, as erased ``now``."""
    try:
        scope = office_scope(network_id, owner_id)
        secret = {**encrypted_columns(vault, scope, lead_id, data), "key_scope": scope}
    except KeyDestroyed:  # the owner's network was shredded: nothing personal may survive
        secret, erased_at = dict(WIPED), erased_at or now or created_at
        secret["key_scope"] = None
    return {"id": lead_id, "owner_id": owner_id, "network_id": network_id,
            "origin": str(origin), "kind": kind, "plan_id": plan_id,
            "plan_country": plan_country, "status": status, "created_at": created_at,
            "delivered_at": delivered_at,
            "updated_at": created_at, "erased_at": erased_at, **secret}


def insert_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """New office rows in one statement; an id already there (a redelivered event, a lead
    its take filed already) is left as it is. Returns how many were inserted."""
    if not rows:
        return 0
    # parameters apart from the statement: compiled once and cached (a VALUES list is
    # compiled afresh each time), sent as one multi-row INSERT all the same
    inserted = session.execute(_INSERT_LEAD, list(rows)).all()
    return len(inserted)


_INSERT_LEAD = (pg_insert(office_leads).on_conflict_do_nothing(index_elements=["id"])
                .returning(office_leads.c.id))


def current_data(vault: Vault, row: Any) -> dict[str, Any] | None:
    return decrypt_json(vault, scope_of(row), "office_leads", "data", row.id, row.data)


def initial_data(vault: Vault, row: Any) -> dict[str, Any] | None:
    return decrypt_json(vault, scope_of(row), "office_leads", "initial_data", row.id,
                        row.initial_data)


def lead_key(vault: Vault, row: Any) -> bytes | None:
    return unwrap_lead_key(vault, scope_of(row), row.id, row.lead_key)


# --- arrival ---------------------------------------------------------------------------------

def _instant(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"naive instant {value!r}")
    return parsed


@dataclass(frozen=True)
class Sale:
    """What the office needs of one sold lead: its id, its stored record decrypted (None
    once shredded) and the country it was captured in."""

    lead_id: uuid.UUID
    data: Mapping[str, Any] | None
    country: str
    kind: str = DEFAULT_KIND  # the stock's kind, which is its plan's


def file_sales(session: Session, vault: Vault, now: datetime, *, owner_id: str,
               network_id: str, plan_id: str, plan_country: str | None,
               delivered_at: datetime, sales: Sequence[Sale]) -> int:
    """Sold leads enter their buyer's office (terms 3.B.iv), in the caller's transaction;
    idempotent on the lead id. A take files its leads itself, so a lead the take returned
    is in the office when the take answers; ``lead_delivered`` then finds it there."""
    if not sales:
        return 0
    pipeline, _ = pipelines.locked(session, network_id)
    return insert_rows(session, [
        lead_row(vault, lead_id=s.lead_id, owner_id=owner_id, network_id=network_id,
                 origin=LeadOrigin.PURCHASED, status=pipeline.initial, created_at=delivered_at,
                 data=s.data, plan_id=plan_id, plan_country=plan_country or s.country,
                 delivered_at=delivered_at, erased_at=None if s.data is not None else now,
                 now=now, kind=s.kind)
        for s in sales])


def receive_delivery(ctx: OfficeCtx, payload: Mapping[str, Any]) -> bool:
    """A sold lead enters its buyer's office (``lead_delivered``); idempotent, and a no-op
    for a lead already filed (by its take, or by this event delivered before).

    The delivery row is the truth (same database, same transaction as the event); the
    personal data is read from ``leads.pii`` under whatever scope it has at this moment
    (the platform's until the lazy re-key, the buyer's network after).
    """
    lead_id = uuid.UUID(str(payload["lead_id"]))
    d, e = deliveries, entitlements
    filed = exists().where(office_leads.c.id == lead_id)
    source = ctx.session.execute(
        select(leads.c.key_scope, leads.c.pii, leads.c.country, leads.c.kind, d.c.plan_id,
               d.c.user_id,
               d.c.network_id, d.c.delivered_at, e.c.country.label("plan_country"),
               filed.label("filed"))
        .select_from(leads.outerjoin(d, d.c.lead_id == leads.c.id)
                     .outerjoin(e, e.c.plan_id == func.coalesce(d.c.plan_id,
                                                                str(payload["plan_id"]))))
        .where(leads.c.id == lead_id)).first()
    if source is None:
        raise LookupError(f"lead_delivered for unknown lead {lead_id}")
    if source.filed:
        log.info("lead %s already in its office", lead_id)
        return False
    sold = source.user_id is not None
    data = None
    if source.pii is not None:
        try:
            data = json.loads(ctx.vault.decrypt(source.key_scope, "leads", "pii", lead_id,
                                                source.pii) or "null")
        except KeyDestroyed:
            data = None
    return file_sales(
        ctx.session, ctx.vault, ctx.now,
        owner_id=str(source.user_id if sold else payload["user_id"]),
        network_id=str(source.network_id if sold else payload["network_id"]),
        plan_id=str(source.plan_id if sold else payload["plan_id"]),
        plan_country=source.plan_country,
        delivered_at=source.delivered_at if sold else _instant(payload["delivered_at"]),
        sales=[Sale(lead_id, data, source.country, source.kind)]) == 1


def create_personal(ctx: OfficeCtx, owner_id: str, network_id: str, raw: Any) -> dict[str, Any]:
    """A lead the user entered (prospection personnelle): the capture pipeline validates it.
    ``kind`` (distribution or construction, default construction) says which office it is for."""
    if isinstance(raw, Mapping) and "kind" in raw:
        raw = dict(raw)
        kind = parse_kind(raw.pop("kind"))
    else:
        kind = DEFAULT_KIND
    data = records.validate_new(raw, ctx.now)
    pipeline, _ = pipelines.locked(ctx.session, network_id)
    lead_id = uuid.uuid4()
    insert_rows(ctx.session, [lead_row(
        ctx.vault, lead_id=lead_id, owner_id=owner_id, network_id=network_id,
        origin=LeadOrigin.PERSONAL, status=pipeline.initial, created_at=ctx.now, data=data,
        kind=kind)])
    return detail(ctx, load(ctx.session, lead_id, owner_id))


# --- reading ---------------------------------------------------------------------------------

def claim_of(session: Session, lead_id: Any) -> dict[str, Any] | None:
    c = refund_claims
    row = session.execute(select(c.c.id, c.c.status, c.c.reason, c.c.created_at,
                                 c.c.decided_at).where(c.c.lead_id == lead_id)).first()
    if row is None:
        return None
    return {"id": str(row.id), "status": row.status, "reason": row.reason,
            "created_at": records.iso(row.created_at), "decided_at": records.iso(row.decided_at)}


def detail(ctx: OfficeCtx, row: Any) -> dict[str, Any]:
    data = current_data(ctx.vault, row)
    initial = initial_data(ctx.vault, row)
    deadline = None
    if row.origin == LeadOrigin.PURCHASED and row.delivered_at is not None:
        deadline = refund_deadline(row.delivered_at, TUNABLES.get_int("REFUND_WINDOW_DAYS"))
    return {**records.summary(row, data), **records.flat(data),
            "plan_country": row.plan_country, "updated_at": records.iso(row.updated_at),
            "source": records.source_of(data) if data else None,
            "erased_at": records.iso(row.erased_at),
            "initial": records.flat(initial) if initial is not None else None,
            "edited_by_user": history.user_edited(ctx.session, row.id),
            "refund": {"deadline": records.iso(deadline), "claim": claim_of(ctx.session, row.id)},
            "site_consents": site_consents_of(ctx.session, row.id)}


def site_consents_of(session: Session, lead_id: Any) -> list[dict[str, Any]]:
    """What the lead's person consented to on the owner's site, oldest first (annex IV.7)."""
    c = site_consents
    return [{"kind": r.kind, "page_id": r.page_id, "notice_version": r.notice_version,
             "notice_text": r.notice_text, "source_url": r.source_url, "duplicate": r.duplicate,
             "consented_at": records.iso(r.consented_at)}
            for r in session.execute(select(c).where(c.c.lead_id == lead_id)
                                     .order_by(c.c.consented_at, c.c.id))]


def get(ctx: OfficeCtx, owner_id: str, lead_id: Any) -> dict[str, Any]:
    return detail(ctx, load(ctx.session, lead_id, owner_id))


def lead_history(ctx: OfficeCtx, owner_id: str, lead_id: Any, cursor: str | None,
                 limit: int) -> dict[str, Any]:
    row = load(ctx.session, lead_id, owner_id)
    return history.page(ctx.session, row.id, lead_key(ctx.vault, row), cursor, limit)


# --- changes ---------------------------------------------------------------------------------

def _writable(row: Any) -> None:
    if row.erased_at is not None:
        raise Conflict("This lead was erased at the data subject's request", code="lead_erased")
    if row.restricted_at is not None:  # GDPR art. 18: kept, not processed
        raise Conflict("Its data subject restricted this lead's processing", code="lead_restricted")


def update_lead(ctx: OfficeCtx, owner_id: str, lead_id: Any, changes: Any) -> dict[str, Any]:
    """The owner's edit: re-validated like a capture, every changed field in the history."""
    row = load(ctx.session, lead_id, owner_id, lock=True)
    _writable(row)
    before = current_data(ctx.vault, row) or {}
    after, diff = records.apply_edit(before, changes, ctx.now)
    if diff:
        key = lead_key(ctx.vault, row)
        ctx.session.execute(update(office_leads).where(office_leads.c.id == row.id).values(
            data=encrypt_json(ctx.vault, scope_of(row), "office_leads", "data", row.id, after),
            updated_at=ctx.now, **blind_indexes(ctx.vault, scope_of(row), after)))
        history.write(ctx.session, history.entries_for(ctx, row.id, key, diff, "edit"))
    return detail(ctx, load(ctx.session, row.id, owner_id))


def change_status(ctx: OfficeCtx, owner_id: str, lead_id: Any, status: Any,
                  reopen: bool = False) -> dict[str, Any]:
    """Move a lead along its network's pipeline; announced for the mailer's automations."""
    if not isinstance(status, str):
        raise Invalid("unknown status", fields={"status": "must be a string"})
    # the pipeline row before the lead row: the admin's remap takes them in that order too
    network_id = load(ctx.session, lead_id, owner_id).network_id
    pipeline, _ = pipelines.locked(ctx.session, network_id)
    row = load(ctx.session, lead_id, owner_id, lock=True)
    _writable(row)
    if check_transition(pipeline, row.status, status, reopen=bool(reopen)):
        ctx.session.execute(update(office_leads).where(office_leads.c.id == row.id)
                            .values(status=status, updated_at=ctx.now))
        history.write(ctx.session, [history.entry(ctx, row.id, lead_key(ctx.vault, row),
                                                  "status", row.status, status, "status")])
        ctx.emit("lead_status_changed", {
            "lead_id": str(row.id), "user_id": row.owner_id, "network_id": row.network_id,
            "old_status": row.status, "new_status": status, "changed_at": ctx.now.isoformat(),
            "cause": "status_change"})
    return detail(ctx, load(ctx.session, row.id, owner_id))


def add_note(ctx: OfficeCtx, owner_id: str, lead_id: Any, text: Any) -> dict[str, Any]:
    """A call's comment: kept encrypted, and recorded in the history (it is not an edit of
    the lead's data, so it does not bar a refund)."""
    if not isinstance(text, str) or not text.strip():
        raise Invalid("the note is empty", fields={"text": "required"})
    if len(text) > NOTE_MAX:
        raise Invalid("the note is too long", fields={"text": f"at most {NOTE_MAX} characters"})
    row = load(ctx.session, lead_id, owner_id, lock=True)
    _writable(row)
    note_id = uuid.uuid4()
    clean = text.strip()
    ctx.session.execute(office_notes.insert().values(
        id=note_id, lead_id=row.id, author_id=ctx.actor.user_id, created_at=ctx.now,
        text=ctx.vault.encrypt(scope_of(row), "office_notes", "text", note_id, clean)))
    ctx.session.execute(update(office_leads).where(office_leads.c.id == row.id)
                        .values(updated_at=ctx.now))
    history.write(ctx.session, [history.entry(ctx, row.id, lead_key(ctx.vault, row), "note",
                                              None, clean, "note")])
    return {"id": str(note_id), "lead_id": str(row.id), "text": clean,
            "author_id": ctx.actor.user_id, "created_at": ctx.now.isoformat()}


def notes(ctx: OfficeCtx, owner_id: str, lead_id: Any, cursor: str | None,
          limit: int) -> dict[str, Any]:
    """Newest first."""
    row = load(ctx.session, lead_id, owner_id)
    n = office_notes
    rows = ctx.session.execute(keyset(select(n).where(n.c.lead_id == row.id), n, cursor, limit,
                                      newest_first=True, kind="notes")).all()
    items = [{"id": str(r.id), "lead_id": str(r.lead_id), "author_id": r.author_id,
              "created_at": r.created_at.isoformat(),
              "text": ctx.vault.decrypt(scope_of(row), "office_notes", "text", r.id, r.text)}
             for r in rows[:limit]]
    return page(rows, limit, items, kind="notes")


def _wipe(ctx: OfficeCtx, row: Any, via: str, **extra: Any) -> None:
    """Forget the lead's personal data: current and initial record, its key (history
    values become unreadable), its search keys, its notes, its claims' evidence and its
    captured copy."""
    history.write(ctx.session, [history.entry(ctx, row.id, None, "record", None, None, via)])
    ctx.session.execute(update(office_leads).where(office_leads.c.id == row.id)
                        .values(updated_at=ctx.now, **WIPED, **extra))
    ctx.session.execute(delete(office_notes).where(office_notes.c.lead_id == row.id))
    ctx.session.execute(update(refund_claims).where(refund_claims.c.lead_id == row.id)
                        .values(checks=None, comment=None))
    # a purchased lead's captured copy (``leads.pii``, under the buyer's key) goes too;
    # its delivery row first: a re-key in flight holds it, and would write the data back
    ctx.session.execute(select(deliveries.c.lead_id).where(deliveries.c.lead_id == row.id)
                        .with_for_update())
    ctx.session.execute(update(leads).where(leads.c.id == row.id, leads.c.pii.is_not(None))
                        .values(pii=None, email_bidx=None, mobile_bidx=None,
                                landline_bidx=None, erased_at=ctx.now))


def delete_lead(ctx: OfficeCtx, owner_id: str, lead_id: Any) -> dict[str, Any]:
    """The owner deletes a lead (terms 3.B.iv: theirs, and theirs to delete once its use is
    over). A pending refund claim must be decided first: its evidence is the lead's data."""
    row = load(ctx.session, lead_id, owner_id, lock=True)
    pending = ctx.session.execute(select(exists().where(
        refund_claims.c.lead_id == row.id, refund_claims.c.status == "pending"))).scalar()
    if pending:
        raise Conflict("A refund claim on this lead awaits the platform's decision",
                       code="refund_claim_pending")
    _wipe(ctx, row, "delete", deleted_at=ctx.now, deleted_by=ctx.actor.user_id)
    # the mailer forgets its e-mails: not ``lead_erased``, whose notice says the person
    # asked (``office.wiping``)
    ctx.emit("office_leads_erased", {"user_id": row.owner_id, "network_id": row.network_id,
                                     "lead_ids": [str(row.id)], "reason": "owner",
                                     "erased_at": ctx.now.isoformat()})
    return {"id": str(lead_id), "deleted": True}


def erase(ctx: OfficeCtx, lead_id: Any) -> dict[str, Any]:
    """Erasure on the data subject's request (terms 3.B.iv): the lead stays in its office as
    an empty record, so its owner is told and cannot claim a refund for it; a pending claim
    is rejected. Idempotent."""
    row = load(ctx.session, lead_id, lock=True, with_deleted=True)
    if row.erased_at is not None:
        return {"lead_id": str(row.id), "erased_at": row.erased_at.isoformat(), "already": True}
    _wipe(ctx, row, "erasure", erased_at=ctx.now, erased_reason=records.ERASED_ON_REQUEST)
    rejected = ctx.session.execute(
        update(refund_claims).where(refund_claims.c.lead_id == row.id,
                                    refund_claims.c.status == "pending")
        .values(status="rejected", decided_at=ctx.now, decided_by=ctx.actor.user_id)
        .returning(refund_claims.c.id)).all()
    for claim in rejected:
        ctx.emit("refund_claim_decided", {
            "claim_id": str(claim.id), "lead_id": str(row.id), "user_id": row.owner_id,
            "network_id": row.network_id, "status": "rejected", "cause": "lead_erased"})
    ctx.emit("lead_erased", {"lead_id": str(row.id), "user_id": row.owner_id,
                             "network_id": row.network_id, "erased_at": ctx.now.isoformat(),
                             "reason": records.ERASED_ON_REQUEST})
    return {"lead_id": str(row.id), "erased_at": ctx.now.isoformat(), "already": False}
