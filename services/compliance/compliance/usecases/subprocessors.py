"""Sub-processors: the registry every user reads, changes compliance staff announce
(emailed to every controller through the mailer: event ``subprocessor_change_announced``),
and the controllers' objections."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from compliance.domain import subprocessors as rules
from compliance.domain.requests import RuleError
from compliance.models import subprocessor_changes as SC
from compliance.models import subprocessor_objections as O
from compliance.models import subprocessors as S
from compliance.usecases import audit
from compliance.usecases.context import Ctx, parse_uuid
from compliance.usecases.requests import refusal
from suivi_common import clock
from suivi_common.auth import require
from suivi_common.errors import Conflict, Invalid, NotFound

CHANGE_EVENT = "subprocessor_change_announced"


def _subject(change_id: Any) -> dict[str, Any]:
    return {"type": "subprocessor_change", "id": str(change_id)}


def announce(ctx: Ctx, change: dict[str, Any]) -> dict[str, Any]:
    staff = ctx.compliance_staff()
    # one announcement at a time: the "is it already being replaced?" check and the insert
    # must not interleave with another announcement's
    ctx.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(
        "compliance:subprocessor-changes", 0))))
    now = clock.now()
    try:
        parsed = rules.parse_change(change if isinstance(change, dict) else {}, now,
                                    ctx.settings.subprocessor_notice)
    except rules.ChangeProblems as err:
        raise Invalid("Some fields are not valid", fields=err.fields) from None
    replaced = None
    if parsed.replaces is not None:
        rid = parse_uuid(parsed.replaces)
        replaced = ctx.session.execute(select(S).where(S.c.id == rid)).first() if rid else None
        if replaced is None:
            raise Invalid("No such sub-processor", fields={"replaces": "no such sub-processor"})
        if ctx.session.execute(select(SC.c.id).where(SC.c.replaces_id == replaced.id)).first():
            raise Conflict("This sub-processor is already being replaced",
                           code="already_replaced")
    sub_id, change_id = uuid.uuid4(), uuid.uuid4()
    ctx.session.execute(S.insert().values(
        id=sub_id, name=parsed.name, contact=parsed.contact, activity=parsed.activity,
        country=parsed.country, contract_start=parsed.contract_start,
        contract_end=parsed.contract_end, added_by_change=change_id, created_at=now))
    ctx.session.execute(SC.insert().values(
        id=change_id, kind=parsed.kind, subprocessor_id=sub_id,
        replaces_id=replaced.id if replaced else None, notice_sent_at=now,
        effective_from=parsed.effective_from, created_by=staff.user_id))
    url = f"{ctx.settings.public_url}/subprocessors/changes/{change_id}"
    subject, text = rules.notice_text(parsed, replaced.name if replaced else None, url)
    ctx.emit(CHANGE_EVENT, {
        "change_id": str(change_id), "kind": parsed.kind,
        "subprocessor": {"id": str(sub_id), "name": parsed.name, "contact": parsed.contact,
                         "activity": parsed.activity, "country": parsed.country,
                         "contract_start": parsed.contract_start.isoformat(),
                         "contract_end": parsed.contract_end.isoformat()
                         if parsed.contract_end else None},
        "replaces": {"id": str(replaced.id), "name": replaced.name} if replaced else None,
        "notice_sent_at": now.isoformat(), "effective_from": parsed.effective_from.isoformat(),
        "objection_url": url, "subject": subject, "text": text})
    audit.append(ctx, "subprocessor.change_announced", _subject(change_id), {
        "kind": parsed.kind, "subprocessor_id": str(sub_id), "name": parsed.name,
        "replaces": str(replaced.id) if replaced else None,
        "effective_from": parsed.effective_from.isoformat()})
    return _change_view(ctx, _load_change(ctx, change_id))


def _load_change(ctx: Ctx, change_id: object) -> Any:
    cid = parse_uuid(change_id)
    row = ctx.session.execute(select(SC).where(SC.c.id == cid)).first() if cid else None
    if row is None:
        raise NotFound("No such change")
    return row


def _change_view(ctx: Ctx, row: Any) -> dict[str, Any]:
    objections = ctx.session.execute(select(func.count()).where(O.c.change_id == row.id)).scalar()
    return {"id": str(row.id), "kind": row.kind, "subprocessor_id": str(row.subprocessor_id),
            "replaces_id": str(row.replaces_id) if row.replaces_id else None,
            "notice_sent_at": row.notice_sent_at.isoformat(),
            "effective_from": row.effective_from.isoformat(),
            "in_effect": clock.now() >= row.effective_from,
            "created_by": row.created_by, "objections": int(objections or 0)}


def registry(ctx: Ctx) -> dict[str, Any]:
    """Every sub-processor with its status now; for a controller, as their objections
    leave it (a change they objected to does not take effect for them)."""
    me = require(ctx.principal)
    now = clock.now()
    changes = {r.id: r for r in ctx.session.execute(select(SC))}
    objected: set[uuid.UUID] = set()
    if me.is_member:
        objected = {r.change_id for r in ctx.session.execute(
            select(O.c.change_id).where(O.c.user_id == me.user_id))}
    replaced_by = {c.replaces_id: c for c in changes.values() if c.replaces_id is not None}
    items = []
    for row in ctx.session.execute(select(S).order_by(S.c.name, S.c.id)):
        adding = changes.get(row.added_by_change) if row.added_by_change else None
        replacing = replaced_by.get(row.id)
        items.append({
            "id": str(row.id), "name": row.name, "contact": row.contact,
            "activity": row.activity, "country": row.country,
            "contract_start": row.contract_start.isoformat(),
            "contract_end": row.contract_end.isoformat() if row.contract_end else None,
            "status": rules.status(adding.effective_from if adding else None,
                                   replacing.effective_from if replacing else None, now,
                                   adding is not None and adding.id in objected,
                                   replacing is not None and replacing.id in objected),
            "change_id": str(adding.id) if adding else None,
            "effective_from": adding.effective_from.isoformat() if adding else None,
            "replaced_from": replacing.effective_from.isoformat() if replacing else None,
            "objected": adding is not None and adding.id in objected})
    return {"items": items, "next_cursor": None}


def object_to(ctx: Ctx, change_id: object, reason: object) -> dict[str, Any]:
    me = ctx.member()
    row = _load_change(ctx, change_id)
    now = clock.now()
    try:
        text = rules.check_objection(row.effective_from, now, reason)
    except RuleError as err:
        raise refusal(err) from None
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(O.insert().values(change_id=row.id, user_id=me.user_id,
                                                  network_id=me.network_id, reason=text,
                                                  created_at=now))
    except IntegrityError:
        raise Conflict("You already objected to this change", code="already_objected") from None
    audit.append(ctx, "subprocessor.objection", _subject(row.id), {"user_id": me.user_id})
    return {"change_id": str(row.id), "objected_at": now.isoformat(),
            "effective_from": row.effective_from.isoformat()}


def list_changes(ctx: Ctx) -> dict[str, Any]:
    ctx.compliance_staff()
    rows = ctx.session.execute(select(SC).order_by(SC.c.notice_sent_at.desc(), SC.c.id))
    return {"items": [_change_view(ctx, r) for r in rows], "next_cursor": None}


def objections(ctx: Ctx, change_id: object) -> dict[str, Any]:
    """Who objected, and why: the change does not take effect for them."""
    ctx.compliance_staff()
    row = _load_change(ctx, change_id)
    items = [{"user_id": o.user_id, "network_id": o.network_id, "reason": o.reason,
              "created_at": o.created_at.isoformat()} for o in ctx.session.execute(
        select(O).where(O.c.change_id == row.id).order_by(O.c.created_at, O.c.user_id))]
    return {"items": items, "next_cursor": None}
