"""The end of a controller's contract (annex IV.12; rules in
``compliance.domain.end_of_contract``, the services' contract in the README).

Compliance staff start it for a controller (user): compliance asks the holding services
for the controller's data (``controller_data_requested``, asked again while late), builds
the archive from their reports (``controller_data_reported``) and keeps it sealed under a
key of its own (``eoc:<id>``) for the controller to download. Once the controller
confirms receipt, or the delay passed (timer), it asks them to destroy the data
(``controller_shred_requested``); when every holder reported (``controller_data_shredded``)
it shreds its own copy (the archive's key), issues the certificate of destruction and
audits it. Every step runs under the row's lock and looks at the state first, so a
redelivered report or a second request changes nothing.
"""
from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from compliance.domain import end_of_contract as rules
from compliance.domain.requests import RuleError
from compliance.models import common, end_of_contracts
from compliance.usecases import audit, requests
from compliance.usecases.context import Ctx
from suivi_common import clock
from suivi_common.crypto import key_fingerprint
from suivi_common.errors import Conflict, Invalid, NotFound

E = end_of_contracts
CONTROLLER_DATA_REQUEST = "controller_data_requested"
CONTROLLER_SHRED_REQUEST = "controller_shred_requested"
SWEEP_BATCH = 100


def _scope(contract_id: uuid.UUID) -> str:
    return f"eoc:{contract_id}"


def _subject(row: Any) -> dict[str, str]:
    return {"type": "end_of_contract", "id": str(row.id), "user_id": row.user_id}


def _refuse(err: RuleError) -> Exception:
    return requests.refusal(err)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _user_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 64:
        raise Invalid("user_id is invalid", fields={"user_id": "a user id"})
    return value.strip()


def view(ctx: Ctx, row: Any) -> dict[str, Any]:
    days = ctx.settings.end_of_contract_shred_days
    return {
        "contract_id": str(row.id), "user_id": row.user_id, "status": row.status,
        "requested_at": row.requested_at.isoformat(), "ready_at": _iso(row.ready_at),
        "archive": {"filename": row.archive_filename, "size": row.archive_size,
                    "available": row.archive is not None},
        "confirmed_at": _iso(row.confirmed_at),
        "shred_after": _iso(rules.shred_after(row.ready_at, days)) if row.ready_at else None,
        "shred_requested_at": _iso(row.shred_requested_at),
        "destroyed_at": _iso(row.destroyed_at),
        "services": {s: {k: v for k, v in r.items() if k != "data"}
                     for s, r in sorted(row.reports.items())},
        "certificate": row.certificate,
    }


def _load(ctx: Ctx, user_id: str, lock: bool = False) -> Any:
    query = select(E).where(E.c.user_id == user_id)
    row = ctx.session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("No end of contract for this controller")
    return row


def _by_id(ctx: Ctx, contract_id: object) -> Any | None:
    try:
        cid = uuid.UUID(str(contract_id))
    except ValueError:
        return None
    return ctx.session.execute(select(E).where(E.c.id == cid).with_for_update()).first()


def _emit_ask(ctx: Ctx, event: str, row: Any, attempt: int) -> None:
    ctx.emit(event, {"contract_id": str(row.id), "user_id": row.user_id, "attempt": attempt})


# --- staff ----------------------------------------------------------------------------------

def start(ctx: Ctx, user_id: object) -> dict[str, Any]:
    """Start the end of contract of ``user_id`` (the same one again while it is under way;
    refused once the data is destroyed)."""
    staff = ctx.compliance_staff()
    uid = _user_id(user_id)
    existing = ctx.session.execute(select(E.c.status).where(E.c.user_id == uid)).scalar()
    try:
        fresh = rules.check_start(existing)
    except RuleError as err:
        raise _refuse(err) from None
    if fresh:
        now = clock.now()
        inserted = ctx.session.execute(pg_insert(E).values(
            id=uuid.uuid4(), user_id=uid, status=rules.Status.COLLECTING.value,
            requested_at=now, requested_by=staff.user_id, attempts=1, last_sent_at=now)
            .on_conflict_do_nothing(index_elements=["user_id"]).returning(E.c.id)).first()
        if inserted is not None:  # else: a concurrent request started it
            row = _load(ctx, uid)
            _emit_ask(ctx, CONTROLLER_DATA_REQUEST, row, 1)
            audit.append(ctx, "eoc.requested", _subject(row), {"holders": list(rules.HOLDERS)})
    return {**view(ctx, _load(ctx, uid)), "created": bool(fresh)}


def get(ctx: Ctx, user_id: object) -> dict[str, Any]:
    ctx.compliance_staff()
    return view(ctx, _load(ctx, _user_id(user_id)))


def certificate(ctx: Ctx, user_id: object) -> dict[str, Any]:
    ctx.compliance_staff()
    row = _load(ctx, _user_id(user_id))
    if row.certificate is None:
        raise Conflict("The data is not destroyed yet", code="not_destroyed_yet")
    return dict(row.certificate)


def download(ctx: Ctx, user_id: object) -> dict[str, Any]:
    ctx.compliance_staff()
    return _download(ctx, _load(ctx, _user_id(user_id)))


# --- the controller --------------------------------------------------------------------------

def mine(ctx: Ctx) -> dict[str, Any]:
    return view(ctx, _load(ctx, ctx.member().user_id))


def my_download(ctx: Ctx) -> dict[str, Any]:
    return _download(ctx, _load(ctx, ctx.member().user_id))


def confirm_receipt(ctx: Ctx) -> dict[str, Any]:
    """The controller has their archive: the destruction starts now."""
    row = _load(ctx, ctx.member().user_id, lock=True)
    try:
        rules.check_confirmable(row.status)
    except RuleError as err:
        raise _refuse(err) from None
    now = clock.now()
    ctx.session.execute(update(E).where(E.c.id == row.id).values(confirmed_at=now))
    audit.append(ctx, "eoc.receipt_confirmed", _subject(row), {"confirmed_at": now.isoformat()})
    _request_shred(ctx, row.id, now)
    return view(ctx, _load(ctx, row.user_id))


def _download(ctx: Ctx, row: Any) -> dict[str, Any]:
    try:
        rules.check_downloadable(row.status)
    except RuleError as err:
        raise _refuse(err) from None
    if row.archive is None:
        raise Conflict("The archive was destroyed with the data", code="archive_destroyed")
    content = ctx.vault.decrypt(_scope(row.id), "end_of_contracts", "archive", row.id,
                                row.archive)
    audit.append(ctx, "eoc.archive_downloaded", _subject(row), {"status": row.status})
    return {"filename": row.archive_filename, "content_type": rules.CONTENT_TYPE,
            "size": row.archive_size, "content_b64": content}


# --- the holders' reports --------------------------------------------------------------------

def _processor(ctx: Ctx) -> dict[str, Any]:
    return {"name": ctx.settings.processor_name,
            "dpo": {"name": ctx.settings.dpo_name or None, "email": ctx.settings.dpo_email or None}}


def on_data_reported(ctx: Ctx, service: str, payload: dict[str, Any]) -> None:
    """A holder's part of the data: kept sealed; the archive is built once all came."""
    row = _by_id(ctx, payload.get("contract_id"))
    if row is None or row.user_id != payload.get("user_id") \
            or row.status != rules.Status.COLLECTING or service in row.reports:
        return  # unknown, or already had: nothing changes
    now = clock.now()
    if payload.get("error"):
        ctx.session.execute(update(E).where(E.c.id == row.id).values(
            reports={**row.reports, f"{service}:error": {"error": str(payload["error"]),
                                                        "at": now.isoformat()}}))
        return  # asked again by the timer
    sealed = ctx.vault.encrypt(_scope(row.id), "end_of_contracts", f"part:{service}", row.id,
                               json.dumps(payload.get("data")))
    assert sealed is not None
    reports = {k: v for k, v in row.reports.items() if not k.endswith(":error")}
    reports[service] = {"records": int(payload.get("records") or 0), "at": now.isoformat(),
                        "data": base64.b64encode(sealed).decode()}
    if not rules.all_reported(rules.HOLDERS, list(reports)):
        ctx.session.execute(update(E).where(E.c.id == row.id).values(reports=reports))
        return
    parts = [rules.Part(s, r["records"], json.loads(ctx.vault.decrypt(
        _scope(row.id), "end_of_contracts", f"part:{s}", row.id,
        base64.b64decode(r["data"])) or "null")) for s, r in reports.items()]
    archive = rules.build_archive(str(row.id), row.user_id, parts, _processor(ctx), now)
    content = base64.b64encode(archive.content).decode()
    ctx.session.execute(update(E).where(E.c.id == row.id).values(
        status=rules.Status.READY.value, ready_at=now, archive_filename=archive.filename,
        archive_size=len(archive.content),
        archive=ctx.vault.encrypt(_scope(row.id), "end_of_contracts", "archive", row.id,
                                  content),
        reports={s: {k: v for k, v in r.items() if k != "data"} for s, r in reports.items()}))
    audit.append(ctx, "eoc.archive_ready", _subject(row),
                 {"records": {s: r["records"] for s, r in reports.items()}})


def _request_shred(ctx: Ctx, contract_id: uuid.UUID, now: datetime) -> None:
    ctx.session.execute(update(E).where(E.c.id == contract_id).values(
        status=rules.Status.SHREDDING.value, shred_requested_at=now, attempts=1,
        last_sent_at=now))
    row = ctx.session.execute(select(E).where(E.c.id == contract_id)).one()
    _emit_ask(ctx, CONTROLLER_SHRED_REQUEST, row, 1)
    audit.append(ctx, "eoc.destruction_requested", _subject(row),
                 {"confirmed": row.confirmed_at is not None})


def _archive_key(ctx: Ctx, contract_id: uuid.UUID) -> dict[str, Any]:
    """Shred compliance's own copy: the archive's key (its id for the certificate)."""
    scope = _scope(contract_id)
    k = common.data_keys
    wrapped = ctx.session.execute(select(k.c.wrapped_key).where(k.c.scope == scope)).scalar()
    ctx.vault.destroy(scope)
    return {"service": "compliance", "what": "archive", "scope": scope,
            "key_id": key_fingerprint(scope, wrapped) if wrapped is not None else None}


def on_shredded(ctx: Ctx, service: str, payload: dict[str, Any]) -> None:
    """A holder destroyed its part; once all did: the certificate (idempotent)."""
    row = _by_id(ctx, payload.get("contract_id"))
    if row is None or row.user_id != payload.get("user_id") \
            or row.status != rules.Status.SHREDDING or service in row.shred_reports:
        return
    reports = {**row.shred_reports, service: {
        "shredded_at": payload.get("shredded_at"), "counts": payload.get("counts") or {},
        "keys": payload.get("keys") or []}}
    if not rules.all_reported(rules.HOLDERS, list(reports)):
        ctx.session.execute(update(E).where(E.c.id == row.id).values(shred_reports=reports))
        return
    now = clock.now()
    cert = rules.certificate(
        contract_id=str(row.id), user_id=row.user_id, requested_at=row.requested_at,
        ready_at=row.ready_at, confirmed_at=row.confirmed_at,
        shred_requested_at=row.shred_requested_at or now, reports=reports,
        archive_key=_archive_key(ctx, row.id), processor=_processor(ctx), issued_at=now)
    ctx.session.execute(update(E).where(E.c.id == row.id).values(
        status=rules.Status.DESTROYED.value, destroyed_at=now, shred_reports=reports,
        archive=None, certificate=cert))
    audit.append(ctx, "eoc.destroyed", _subject(row),
                 {"totals": cert["totals"], "keys": [k.get("key_id") for k in cert["keys"]]})


# --- the timer --------------------------------------------------------------------------------

def sweep(ctx: Ctx, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Ask late holders again; start the destruction of archives past their delay."""
    now, late = clock.now(), ctx.settings.dsr_task_late_after
    days = ctx.settings.end_of_contract_shred_days
    asked = 0
    for row in ctx.session.execute(select(E).where(
            E.c.status.in_([rules.Status.COLLECTING.value, rules.Status.SHREDDING.value]),
            E.c.last_sent_at <= now - late).order_by(E.c.last_sent_at).limit(limit)
            .with_for_update(skip_locked=True)).all():
        ctx.session.execute(update(E).where(E.c.id == row.id).values(
            attempts=row.attempts + 1, last_sent_at=now))
        if row.status == rules.Status.COLLECTING:
            _emit_ask(ctx, CONTROLLER_DATA_REQUEST, row, row.attempts + 1)
        else:
            _emit_ask(ctx, CONTROLLER_SHRED_REQUEST, row, row.attempts + 1)
        asked += 1
    due = 0
    # pre-filter with a margin over "days x 24 h" (a Paris day is 23 to 25 hours)
    cutoff = now - timedelta(days=days) + timedelta(hours=2)
    for row in ctx.session.execute(select(E).where(
            E.c.status == rules.Status.READY.value,
            E.c.confirmed_at.is_not(None) | (E.c.ready_at <= cutoff))
            .order_by(E.c.ready_at).limit(limit)
                                   .with_for_update(skip_locked=True)).all():
        if rules.is_shred_due(row.status, row.confirmed_at, row.ready_at, now, days):
            _request_shred(ctx, row.id, now)
            due += 1
    return {"asked_again": asked, "destruction_started": due}
