"""The end of a controller's contract, leads' part (annex IV.12; compliance README).

* ``controller_data_requested`` in: every office record of the controller (the user),
  with its notes, history, e-mails sent, refund claims and the consents of the leads its
  sites' forms filed (the notice shown, its version, when: the controller keeps that proof
  for the limitation period once returned; here it goes with its lead), as lists of records per
  category, reported with ``controller_data_reported`` (compliance builds the archive).
  A read: a repeated request reads again. Before reading, the controller's rows still
  under the network's key are moved to theirs (``controller_keys``), so that what the
  archive shows is exactly what the shred destroys.
* ``controller_shred_requested`` in: every copy destroyed. The office rows are wiped as
  the retention sweep wipes them (record, initial record, lead key, search keys, notes,
  claim texts, the captured copy; ``office_leads_erased`` tells the mailer to forget their
  e-mail history), unread export files deleted, then the controller's keys shredded
  (``controller_scope(network, user)`` in every network they had an office in): a backup's copy of
  those rows, taken once they were under the controller's key, cannot be read either.
  Recorded once (``controller_shreds``): a repeated request reports the same counts and
  keys again, without acting.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Any

from sqlalchemy import delete, func, select, update

from leads.domain import office_records as records
from leads.models import (
    controller_shreds,
    office_emails,
    office_export_chunks,
    office_exports,
    office_history,
    office_leads,
    office_notes,
    refund_claims,
)
from leads.usecases import documents
from leads.usecases.office import controller_keys, history, one_lead, wiping
from leads.usecases.office.context import OfficeCtx, scope_of
from suivi_common import end_of_contract as eoc
from suivi_common.crypto import KeyDestroyed

log = logging.getLogger(__name__)

SERVICE = "leads"
WIPE_BATCH = 1000
REASON = "end_of_contract"
T = office_leads


def _iso(value: Any) -> str | None:
    return records.iso(value)


def _decrypt(ctx: OfficeCtx, scope: str, table: str, column: str, row_id: Any,
             blob: bytes | None) -> str | None:
    try:
        return ctx.vault.decrypt(scope, table, column, row_id, blob)
    except KeyDestroyed:
        return None


def controller_data(ctx: OfficeCtx, user_id: str) -> dict[str, Any]:
    """The controller's office as lists of records per category (see the module)."""
    rows = ctx.session.execute(select(T).where(T.c.owner_id == user_id, T.c.data.is_not(None))
                               .order_by(T.c.created_at, T.c.id)).all()
    out: dict[str, list[dict[str, Any]]] = {"leads": [], "notes": [], "history": [],
                                            "emails": [], "claims": [], "consents": []}
    for row in rows:
        out["leads"].append({
            "lead_id": str(row.id), "network_id": row.network_id, "origin": row.origin,
            "status": row.status, "created_at": _iso(row.created_at),
            "delivered_at": _iso(row.delivered_at), "deleted": row.deleted_at is not None,
            "restricted": row.restricted_at is not None,
            "record": records.flat(one_lead.current_data(ctx.vault, row)),
            "initial_record": records.flat(one_lead.initial_data(ctx.vault, row))})
        for n in ctx.session.execute(select(office_notes).where(
                office_notes.c.lead_id == row.id).order_by(office_notes.c.created_at,
                                                           office_notes.c.id)).all():
            out["notes"].append({"lead_id": str(row.id), "created_at": _iso(n.created_at),
                                 "text": _decrypt(ctx, scope_of(row), "office_notes", "text",
                                                  n.id, n.text)})
        # a site's form: the consent proofs, the controller's to keep once returned
        out["consents"] += [{"lead_id": str(row.id), **c}
                            for c in one_lead.site_consents_of(ctx.session, row.id)]
        key = one_lead.lead_key(ctx.vault, row)
        for e in history.page(ctx.session, row.id, key, None, 10_000)["items"]:
            out["history"].append({"lead_id": str(row.id),
                                   **{k: e[k] for k in ("field", "old", "new", "source", "via",
                                                        "changed_at")}})
        for m in ctx.session.execute(select(office_emails).where(
                office_emails.c.lead_id == row.id).order_by(office_emails.c.sent_at)).all():
            out["emails"].append({"lead_id": str(row.id), "email_id": m.email_id,
                                  "sent_at": _iso(m.sent_at), "channel": m.channel})
    c = refund_claims
    for claim in ctx.session.execute(select(c).where(c.c.user_id == user_id)
                                     .order_by(c.c.created_at, c.c.id)).all():
        scope = scope_of(claim)
        out["claims"].append({
            "claim_id": str(claim.id), "lead_id": str(claim.lead_id), "plan_id": claim.plan_id,
            "reason": claim.reason, "status": claim.status,
            "created_at": _iso(claim.created_at), "decided_at": _iso(claim.decided_at),
            "comment": _decrypt(ctx, scope, "refund_claims", "comment", claim.id,
                                claim.comment),
            "decision_comment": _decrypt(ctx, scope, "refund_claims", "decision_comment",
                                         claim.id, claim.decision_comment)})
    # work documents: what they are, not their bytes (up to the quota, 200 MiB, which no
    # event carries); the owner downloads them (``GET /api/documents/{id}``) before the end
    out["documents"] = documents.describe_owner(ctx, user_id)
    return out


def on_data_requested(ctx: OfficeCtx, payload: Any) -> None:
    """``controller_data_requested``: re-key the controller's rows, read them, report."""
    ctx.emit(eoc.DATA_EVENT, eoc.data_report(ctx.session, controller_shreds, SERVICE, payload,
                                             partial(controller_data, ctx),
                                             partial(controller_keys.rekey_owner, ctx)))


def _count(ctx: OfficeCtx, query: Any) -> int:
    return int(ctx.session.execute(query).scalar() or 0)


def _counts(ctx: OfficeCtx, user_id: str) -> dict[str, int]:
    mine = select(T.c.id).where(T.c.owner_id == user_id,
                                T.c.data.is_not(None) | T.c.lead_key.is_not(None))
    return {
        "leads": _count(ctx, select(func.count()).select_from(mine.subquery())),
        "notes": _count(ctx, select(func.count()).select_from(office_notes).where(
            office_notes.c.lead_id.in_(mine))),
        "history": _count(ctx, select(func.count()).select_from(office_history).where(
            office_history.c.lead_id.in_(mine))),
        "emails": _count(ctx, select(func.count()).select_from(office_emails).where(
            office_emails.c.lead_id.in_(mine))),
        "claims": _count(ctx, select(func.count()).select_from(refund_claims).where(
            refund_claims.c.user_id == user_id)),
        "documents": documents.count_owner(ctx, user_id),
        "export_files": _count(ctx, select(func.count()).select_from(office_exports).where(
            office_exports.c.user_id == user_id, office_exports.c.downloaded_at.is_(None))),
        # rows never moved to the controller's key: wiped here, but a backup's copy is
        # under the network's key (see ``controller_keys``)
        "under_network_key": _count(ctx, select(func.count()).select_from(
            select(T.c.id).where(T.c.owner_id == user_id, *controller_keys.LEGACY)
            .subquery())),
    }


def _shred_keys(ctx: OfficeCtx, user_id: str) -> list[dict[str, str]]:
    """Shred every key of the controller: one per network they held an office in."""
    networks = set(ctx.session.execute(select(T.c.network_id).where(
        T.c.owner_id == user_id).distinct()).scalars())
    return ctx.vault.destroy_controller(user_id, networks)


def on_shred_requested(ctx: OfficeCtx, payload: Any) -> None:
    """``controller_shred_requested``: destroy, once; report (again, on a repeat)."""
    contract_id, user_id = eoc.contract_of(payload)
    ctx.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"eoc:{user_id}"))))
    done = eoc.shred_of(ctx.session, controller_shreds, user_id)
    if done is None:
        counts = _counts(ctx, user_id)
        while ids := wiping.pick(ctx.session, [T.c.owner_id == user_id], WIPE_BATCH):
            wiping.wipe(ctx.session, ctx.emit, ids, ctx.now, reason=REASON,
                        actor=ctx.actor.user_id, source="system", via=REASON, erase=True)
        ctx.session.execute(update(refund_claims).where(refund_claims.c.user_id == user_id)
                            .values(comment=None, checks=None, decision_comment=None))
        exports = select(office_exports.c.id).where(office_exports.c.user_id == user_id)
        ctx.session.execute(delete(office_export_chunks)
                            .where(office_export_chunks.c.export_id.in_(exports)))
        documents.erase_owner(ctx, user_id)
        keys = _shred_keys(ctx, user_id)
        done = eoc.record_shred(ctx.session, controller_shreds, user_id=user_id,
                                contract_id=contract_id, at=ctx.now, counts=counts, keys=keys)
        log.info("end of contract %s: controller %s shredded (%s, %d key(s))", contract_id,
                 user_id, counts, len(keys))
    ctx.emit(eoc.SHREDDED_EVENT, eoc.shredded_report(SERVICE, contract_id, done))
