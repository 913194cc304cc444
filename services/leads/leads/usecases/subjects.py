"""Data-subject requests, leads' part (GDPR art. 15-22; annex IV.8): compliance's
``dsr_task_requested`` (``service == "leads"``) in, ``dsr_task_reported`` out.

1. **Who.** Compliance sends only subject indexes, which leads cannot match (its blind
   indexes are keyed per scope); leads asks ``compliance.dsr_subject(request_id)`` for the
   normalised e-mail and phone, then hashes them under every live scope it holds (the
   platform's stock and each network's office) and finds, through the blind indexes
   alone, every **captured copy** (``leads``: in stock, withdrawn, duplicate or sold, its
   ``pii`` under the platform's or the buyer's key) and every **office copy**
   (``office_leads``, bought or entered by hand). A purchased lead's two copies share their
   id, so a copy found by one of them brings the other along even if an edit changed it.
2. **What.** Per kind:
   * *erasure*: captured copies emptied (``pii`` and blind indexes gone), off sale, and the
     person's duplicate index (``contacts``) deleted; office copies erased with their notes,
     history values (their key is forgotten) and claim evidence, left as a tombstone "erased
     on the person's request" with the date (``one_lead.erase``: a pending claim is
     rejected, ``lead_erased`` tells the mailer, which erases the e-mail history and tells
     the owner); export files still waiting for download in those offices are destroyed.
     A lead a visitor filed through a member's site is one of those office copies; its
     consent proofs (``site_consents``: the notice they saw, when, on which page) are
     deleted with it: they name the person only through the lead, and once it is erased
     they prove nothing (counted in the task's records).
     The opposition list is not touched: an earlier objection stays honoured.
   * *rectification*: the fields given, in every copy (office current and initial record,
     captured copy), re-validated as a capture would be; each office change is in the
     lead's history (``via: "rectification"``). Nothing changes if one copy would not
     validate: the task reports the error instead.
   * *restriction*: the copies are kept but frozen: off sale, not e-mailed (the mailer's
     ``lead_contact`` says not found), not exported, not editable; the office shows them
     restricted.
   * *objection*: the person goes on the opposition list (``usecases.objections``), so no
     new capture of them is ever sold; their copies in stock come off sale.
   * *access* / *portability*: the report's ``data``: every copy found (portability: the
     records only; access: also notes, history and e-mail counts, who holds them, and for
     a lead filed through a member's site the consents recorded: the exact notice shown,
     its version, the page and when).
3. **Once.** Work is done under a lock per request and recorded (``subject_tasks``): a
   retry of a request already done reports the same outcome again, without acting; reading
   kinds read again (nothing is stored of what they found). If compliance no longer has
   the task open (``dsr_subject`` is NotFound), there is nothing to do. A task leads
   cannot do (an unknown kind, a request naming nobody, a rectification that would not
   validate) is reported with ``error``, so compliance shows it failed.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from leads.domain import office_records as records
from leads.domain import subjects as rules
from leads.domain.lead import PHONE_FIELDS
from leads.domain.subjects import BadTask, Kind, Subject, Task
from leads.models import (
    common,
    contacts,
    deliveries,
    leads,
    office_emails,
    office_export_chunks,
    office_exports,
    office_leads,
    office_notes,
    site_consents,
    stock,
    subject_tasks,
)
from leads.usecases import objections
from leads.usecases.capture import lead_blind_indexes
from leads.usecases.office import history, one_lead
from leads.usecases.office.context import OfficeCtx, encrypt_json, scope_of
from suivi_common import dsr
from suivi_common.crypto import PLATFORM_SCOPE, SUBKEY_SCOPE, KeyDestroyed, Vault
from suivi_common.database import xact_lock
from suivi_common.dsr import Outcome
from suivi_common.errors import Invalid, NotFound

log = logging.getLogger(__name__)
T = office_leads


# --- the task ----------------------------------------------------------------------------------

def handle_task(ctx: OfficeCtx, compliance: Any, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """One ``dsr_task_requested`` (``dsr.run_once``); returns the report emitted, None when
    the task is not leads' (or no longer open)."""
    try:
        task = rules.parse_task(payload)
    except BadTask as err:
        log.warning("dsr task refused: %s", err)
        failed = rules.refusal(payload, str(err))
        if failed is not None:  # compliance marks it failed instead of asking forever
            ctx.emit(rules.REPORT_EVENT, failed)
        return None
    if task is None:
        return None

    def recorded(request_id: str) -> Any:
        return ctx.session.execute(select(subject_tasks).where(
            subject_tasks.c.request_id == request_id)).first()

    def done(request_id: str) -> Outcome | None:
        """A task done before, reported again by ``run_once``: its outcome, or the same
        failure (a task leads could not do is not tried again)."""
        row = recorded(request_id)
        if row is None or task.kind in rules.READING:
            return None
        _count_attempt(ctx, request_id)
        return Outcome(row.found, row.records_affected, error=row.error)

    def subject(request_id: str) -> dsr.Subject | None:
        try:
            return dsr.subject_of(compliance.dsr_subject(request_id))
        except NotFound:
            return None

    def act(task: Task, person: dsr.Subject) -> Outcome:
        outcome = _act(ctx, task, person)
        values = {"kind": str(task.kind), "found": outcome.found,
                  "records_affected": outcome.records,
                  "error": (outcome.error or "")[:rules.MAX_ERROR] or None, "done_at": ctx.now}
        ctx.session.execute(pg_insert(subject_tasks).values(request_id=task.request_id, **values)
                            .on_conflict_do_update(index_elements=["request_id"], set_={
                                **values, "attempts": subject_tasks.c.attempts + 1}))
        return outcome

    report = dsr.run_once(payload, rules.SERVICE, done=done, subject=subject, act=act,
                          lock=lambda request_id: xact_lock(ctx.session, f"dsr:{request_id}"))
    if report is not None:
        ctx.emit(rules.REPORT_EVENT, report)
    return report


def _count_attempt(ctx: OfficeCtx, request_id: str) -> None:
    ctx.session.execute(update(subject_tasks).where(subject_tasks.c.request_id == request_id)
                        .values(attempts=subject_tasks.c.attempts + 1))


def _act(ctx: OfficeCtx, task: Task, person: dsr.Subject) -> Outcome:
    """The kind's work, in a savepoint: a task that cannot be done leaves nothing half done
    and reports why."""
    try:
        with ctx.session.begin_nested():
            subject = rules.parse_subject(person)
            copies = find(ctx.session, ctx.vault, subject)
            return ACTIONS[task.kind](ctx, task, subject, copies)
    except BadTask as err:
        return Outcome(False, 0, error=str(err))


# --- finding the person ---------------------------------------------------------------------------

@dataclass
class Copies:
    captured: list[Any]  # ``leads`` rows (+ in_stock, sold)
    office_ids: list[Any]  # ids of live office copies

    @property
    def found(self) -> bool:
        return bool(self.captured or self.office_ids)


def live_scopes(session: Any) -> list[str]:
    """Every scope whose key still exists: the platform's and each network's."""
    k = common.data_keys
    return list(session.execute(select(k.c.scope).where(
        k.c.wrapped_key.is_not(None), k.c.destroyed_at.is_(None), k.c.scope != SUBKEY_SCOPE)
        .order_by(k.c.scope)).scalars())


def _digests(vault: Vault, scopes: Iterable[str], subject: Subject) -> dict[bytes, str]:
    """digest -> the scope it was computed under (email and phone of the person)."""
    scopes = list(scopes)
    vault.preload(scopes)  # every controller's key: one query, not one per scope
    out: dict[bytes, str] = {}
    for scope in scopes:
        for kind, value in subject.keys():
            try:  # each live key version's (a data-key rotation under way)
                out.update(dict.fromkeys(vault.blind_indexes(scope, kind, value), scope))
            except KeyDestroyed:  # shredded meanwhile: nothing readable under it
                continue
    return out


def _matches(digests: Mapping[bytes, str], scope: str, *columns: Any) -> bool:
    return any(c is not None and digests.get(bytes(c)) == scope for c in columns)


def _captured_query() -> Any:
    in_stock = exists().where(stock.c.lead_id == leads.c.id)
    sold = exists().where(deliveries.c.lead_id == leads.c.id)
    return select(leads.c.id, leads.c.key_scope, leads.c.pii, leads.c.status, leads.c.country,
                  leads.c.tier, leads.c.captured_at, leads.c.restricted_at,
                  leads.c.email_bidx, leads.c.mobile_bidx, leads.c.landline_bidx,
                  in_stock.label("in_stock"), sold.label("sold"))


def find(session: Any, vault: Vault, subject: Subject) -> Copies:
    """Every copy of the person, through blind indexes only (see the module)."""
    digests = _digests(vault, live_scopes(session), subject)
    if not digests:
        return Copies([], [])
    wanted = list(digests)
    captured = [r for r in session.execute(_captured_query().where(
        leads.c.pii.is_not(None),
        or_(leads.c.email_bidx.in_(wanted), leads.c.mobile_bidx.in_(wanted),
            leads.c.landline_bidx.in_(wanted)))).all()
        if _matches(digests, r.key_scope, r.email_bidx, r.mobile_bidx, r.landline_bidx)]
    office = [r.id for r in session.execute(select(T.c.id, T.c.network_id, T.c.key_scope,
                                                   T.c.email_bidx,
                                                   T.c.mobile_bidx, T.c.landline_bidx).where(
        T.c.deleted_at.is_(None), T.c.erased_at.is_(None),
        or_(T.c.email_bidx.in_(wanted), T.c.mobile_bidx.in_(wanted),
            T.c.landline_bidx.in_(wanted)))).all()
        if _matches(digests, scope_of(r), r.email_bidx, r.mobile_bidx, r.landline_bidx)]
    # a purchased lead's copies share their id: one found brings the other
    extra_captured = set(office) - {r.id for r in captured}
    if extra_captured:
        captured += session.execute(_captured_query().where(
            leads.c.pii.is_not(None), leads.c.id.in_(sorted(extra_captured)))).all()
    return Copies(sorted(captured, key=lambda r: (r.captured_at, r.id)),
                  sorted(set(office) | {r.id for r in captured}))


def _office_rows(session: Any, ids: Sequence[Any], lock: bool = False) -> list[Any]:
    """The live office copies among ``ids`` (read afresh: a sale that raced the request
    and filed its lead meanwhile is seen)."""
    if not ids:
        return []
    query = (select(T).where(T.c.id.in_(list(ids)), T.c.deleted_at.is_(None),
                             T.c.erased_at.is_(None)).order_by(T.c.created_at, T.c.id))
    return list(session.execute(query.with_for_update() if lock else query).all())


def _captured_data(vault: Vault, row: Any) -> dict[str, Any] | None:
    if row.pii is None:
        return None
    try:
        return json.loads(vault.decrypt(row.key_scope, "leads", "pii", row.id, row.pii) or "null")
    except KeyDestroyed:
        return None


_UNSTOCK = text("""
WITH gone AS (DELETE FROM stock WHERE lead_id = ANY(:ids) RETURNING lead_id)
UPDATE leads SET withdrawn_at = coalesce(withdrawn_at, :now)
FROM gone WHERE leads.id = gone.lead_id
RETURNING leads.id
""")


def _unstock(ctx: OfficeCtx, ids: Sequence[Any]) -> int:
    """Take these leads off sale (the day close still counts them on sale until now). A
    take holding one waits here first: once it committed, the lead is sold and its office
    copy is found by ``_office_rows``."""
    if not ids:
        return 0
    return len(ctx.session.execute(_UNSTOCK, {"ids": list(ids), "now": ctx.now}).all())


# --- the kinds ----------------------------------------------------------------------------------

def erase(ctx: OfficeCtx, task: Task, subject: Subject, copies: Copies) -> Outcome:
    captured_ids = [r.id for r in copies.captured]
    _unstock(ctx, captured_ids)
    office = _office_rows(ctx.session, copies.office_ids, lock=True)
    for row in office:
        one_lead.erase(ctx, row.id)
    consents = _drop_site_consents(ctx, [row.id for row in office])
    _drop_pending_exports(ctx, {row.owner_id for row in office})
    # the person's duplicate index: their identifiers and every one their copies held
    keys = set(subject.keys())
    for row in copies.captured:
        keys.update(_dedup_keys(_captured_data(ctx.vault, row)))
    platform = [(kind, ctx.vault.blind_index(PLATFORM_SCOPE, kind, value)) for kind, value in keys]
    for kind, digest in platform:
        ctx.session.execute(delete(contacts).where(contacts.c.kind == kind,
                                                   contacts.c.digest == digest))
    if captured_ids:  # (an office copy's erasure took its captured copy already)
        _lock_deliveries(ctx, captured_ids)
        ctx.session.execute(
            update(leads).where(leads.c.id.in_(captured_ids), leads.c.pii.is_not(None))
            .values(pii=None, email_bidx=None, mobile_bidx=None, landline_bidx=None,
                    erased_at=ctx.now))
    return Outcome(copies.found, len(captured_ids) + len(office) + consents)


def _drop_site_consents(ctx: OfficeCtx, lead_ids: Sequence[Any]) -> int:
    """The consent proofs of these (now erased) leads: how many were deleted."""
    if not lead_ids:
        return 0
    return len(ctx.session.execute(delete(site_consents).where(
        site_consents.c.lead_id.in_(list(lead_ids))).returning(site_consents.c.id)).all())


def _lock_deliveries(ctx: OfficeCtx, ids: Sequence[Any]) -> None:
    """A sold lead's re-key (``distribution.rekey_pending``) holds its delivery row while it
    rewrites ``pii``: waiting for it here means the wipe comes after, never under it."""
    ctx.session.execute(select(deliveries.c.lead_id).where(deliveries.c.lead_id.in_(list(ids)))
                        .order_by(deliveries.c.lead_id).with_for_update())


def _dedup_keys(data: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    """The ``contacts`` keys of a stored record (``domain.dedup.dedup_keys``' forms)."""
    if not data:
        return set()
    keys = set()
    if data.get("email"):
        keys.add(("email", str(data["email"]).strip().lower()))
    for name in PHONE_FIELDS:
        phone = data.get(name)
        e164 = phone.get("e164") if isinstance(phone, Mapping) else phone
        if e164:
            keys.add(("phone", str(e164)))
    return keys


def _drop_pending_exports(ctx: OfficeCtx, owners: set[str]) -> None:
    """An export file not downloaded yet may hold the erased person: it is destroyed (the
    owner exports again)."""
    if owners:
        waiting = select(office_exports.c.id).where(office_exports.c.user_id.in_(sorted(owners)),
                                                    office_exports.c.downloaded_at.is_(None))
        ctx.session.execute(delete(office_export_chunks)
                            .where(office_export_chunks.c.export_id.in_(waiting)))


def rectify(ctx: OfficeCtx, task: Task, subject: Subject, copies: Copies) -> Outcome:
    if not subject.changes:
        raise BadTask("a rectification names the fields to change")
    office = _office_rows(ctx.session, copies.office_ids, lock=True)
    planned_office = []
    for row in office:
        after, diff = _edited(subject, one_lead.current_data(ctx.vault, row) or {}, ctx)
        initial = one_lead.initial_data(ctx.vault, row)
        initial_after, initial_diff = _edited(subject, initial, ctx) if initial else (None, [])
        if diff or initial_diff:
            planned_office.append((row, after, diff, initial_after if initial_diff else None))
    planned_captured = []
    for crow in copies.captured:
        data = _captured_data(ctx.vault, crow)
        if data is not None:
            after, diff = _edited(subject, data, ctx)
            if diff:
                planned_captured.append((crow, after))
    if any(initial is not None for *_, initial in planned_office):
        # the one change the office's guard lets through to the initial record (migration)
        ctx.session.execute(text("SET LOCAL suivi.rectification = 'on'"))
    for row, after, diff, initial_after in planned_office:
        scope = scope_of(row)
        values: dict[str, Any] = {
            "data": encrypt_json(ctx.vault, scope, "office_leads", "data", row.id, after),
            "updated_at": ctx.now, **one_lead.blind_indexes(ctx.vault, scope, after)}
        if initial_after is not None:
            values["initial_data"] = encrypt_json(ctx.vault, scope, "office_leads",
                                                  "initial_data", row.id, initial_after)
        ctx.session.execute(update(T).where(T.c.id == row.id).values(**values))
        history.write(ctx.session, history.entries_for(
            ctx, row.id, one_lead.lead_key(ctx.vault, row), diff, "rectification"))
    for crow, after in planned_captured:
        ctx.session.execute(update(leads).where(leads.c.id == crow.id).values(
            pii=ctx.vault.encrypt(crow.key_scope, "leads", "pii", crow.id, json.dumps(after)),
            **lead_blind_indexes(ctx.vault, crow.key_scope, after)))
    return Outcome(copies.found, len(planned_office) + len(planned_captured))


def _edited(subject: Subject, data: Mapping[str, Any], ctx: OfficeCtx
            ) -> tuple[dict[str, Any], list[Any]]:
    edit = rules.edit_of(subject, data)
    if not edit:  # nothing of this copy is the person's to rectify (another address)
        return dict(data), []
    try:
        return records.apply_edit(data, edit, ctx.now)
    except Invalid as err:
        fields = ", ".join(f"{k}: {v}" for k, v in sorted((err.fields or {}).items()))
        raise BadTask(f"the rectified record would be invalid ({fields})") from None


def restrict(ctx: OfficeCtx, task: Task, subject: Subject, copies: Copies) -> Outcome:
    captured_ids = [r.id for r in copies.captured]
    _unstock(ctx, captured_ids)
    office = _office_rows(ctx.session, copies.office_ids, lock=True)
    newly = [row for row in office if row.restricted_at is None]
    if newly:
        ctx.session.execute(update(T).where(T.c.id.in_([r.id for r in newly]))
                            .values(restricted_at=ctx.now, updated_at=ctx.now))
        history.write(ctx.session, [history.entry(ctx, row.id, None, "restriction", None, None,
                                                  "restriction") for row in newly])
    captured = 0
    if captured_ids:
        captured = len(ctx.session.execute(
            update(leads).where(leads.c.id.in_(captured_ids), leads.c.restricted_at.is_(None))
            .values(restricted_at=ctx.now).returning(leads.c.id)).all())
    return Outcome(copies.found, len(newly) + captured)


def object_(ctx: OfficeCtx, task: Task, subject: Subject, copies: Copies) -> Outcome:
    keys = [(kind, ctx.vault.blind_index(PLATFORM_SCOPE, kind, value))
            for kind, value in subject.keys()]
    added = objections.record(ctx.session, keys, task.request_id, ctx.now)
    withdrawn = _unstock(ctx, [r.id for r in copies.captured if r.in_stock])
    return Outcome(copies.found, added + withdrawn)


def access(ctx: OfficeCtx, task: Task, subject: Subject, copies: Copies) -> Outcome:
    return _export(ctx, subject, copies, full=True)


def portability(ctx: OfficeCtx, task: Task, subject: Subject, copies: Copies) -> Outcome:
    return _export(ctx, subject, copies, full=False)


def _export(ctx: OfficeCtx, subject: Subject, copies: Copies, full: bool) -> Outcome:
    """What leads holds of the person, machine-readable (compliance adds the register's
    purposes and recipients). Portability: the records the person provided."""
    captured = []
    for row in copies.captured:
        item: dict[str, Any] = {"lead_id": str(row.id), "record": records.flat(
            _captured_data(ctx.vault, row))}
        if full:
            item.update(captured_at=row.captured_at.isoformat(), country=row.country,
                        status=row.status, on_sale=bool(row.in_stock), sold=bool(row.sold),
                        restricted=row.restricted_at is not None)
        captured.append(item)
    office = []
    for row in _office_rows(ctx.session, copies.office_ids):
        item = {"lead_id": str(row.id), "record": records.flat(one_lead.current_data(ctx.vault,
                                                                                      row))}
        if full:
            item.update(_office_details(ctx, row))
        office.append(item)
    data: dict[str, Any] = {"service": rules.SERVICE, "captured": captured, "office": office}
    if full:
        keys = [(kind, ctx.vault.blind_index(PLATFORM_SCOPE, kind, value))
                for kind, value in subject.keys()]
        data["objection_recorded"] = bool(objections.objected(ctx.session, keys))
    return Outcome(copies.found, len(captured) + len(office), data=data)


def _office_details(ctx: OfficeCtx, row: Any) -> dict[str, Any]:
    key = one_lead.lead_key(ctx.vault, row)
    notes = ctx.session.execute(select(office_notes).where(office_notes.c.lead_id == row.id)
                                .order_by(office_notes.c.created_at, office_notes.c.id)).all()
    entries = history.page(ctx.session, row.id, key, None, 10_000)["items"]
    emails = ctx.session.execute(select(office_emails.c.sent_at, office_emails.c.channel).where(
        office_emails.c.lead_id == row.id).order_by(office_emails.c.sent_at)).all()
    return {
        "controller_id": row.owner_id, "network_id": row.network_id, "origin": row.origin,
        "status": row.status, "created_at": records.iso(row.created_at),
        "delivered_at": records.iso(row.delivered_at),
        "initial_record": records.flat(one_lead.initial_data(ctx.vault, row)),
        "restricted": row.restricted_at is not None,
        "notes": [{"created_at": n.created_at.isoformat(),
                   "text": ctx.vault.decrypt(scope_of(row), "office_notes", "text", n.id,
                                            n.text)}
                  for n in notes],
        "history": [{k: e[k] for k in ("field", "old", "new", "source", "via", "changed_at")}
                    for e in entries],
        "emails_sent": [{"sent_at": e.sent_at.isoformat(), "channel": e.channel} for e in emails],
        "site_consents": one_lead.site_consents_of(ctx.session, row.id),
    }


ACTIONS = {Kind.ERASURE: erase, Kind.RECTIFICATION: rectify, Kind.RESTRICTION: restrict,
           Kind.OBJECTION: object_, Kind.ACCESS: access, Kind.PORTABILITY: portability}
