"""Breach notification: declare, count each controller's persons and records (leads, over
RPC), notify each controller through the mailer (event ``breach_notice_requested``, one per
controller and stage), follow-up stages, recount, progress, and the controller's approval
with its authority notification record.

A declaration is recorded even when leads cannot count right now (the 72 hours run from
detection whatever happens); ``recount`` then finds the controllers and notifies them.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from compliance.domain import breaches as rules
from compliance.domain import documents
from compliance.domain.categories import labelled
from compliance.domain.requests import RuleError
from compliance.models import breach_controllers as C
from compliance.models import breach_notices as N
from compliance.models import breach_updates as U
from compliance.models import breaches as B
from compliance.remote import Unavailable
from compliance.usecases import audit
from compliance.usecases.context import Ctx
from suivi_common import clock, paging
from suivi_common.database import one_row, row_by_id
from suivi_common.errors import Conflict, Invalid, NotFound
from suivi_common.ids import parse_uuid

log = logging.getLogger(__name__)

NOTICE_EVENT = "breach_notice_requested"
SUBJECT_NOTICE_EVENT = "breach_subject_notice_requested"
REQUESTED, SENT, FAILED = "requested", "sent", "failed"


def _subject(breach_id: Any) -> dict[str, Any]:
    return {"type": "breach", "id": str(breach_id)}


def _dpo(ctx: Ctx) -> rules.Dpo:
    return rules.Dpo(ctx.settings.dpo_name, ctx.settings.dpo_email)


def declare(ctx: Ctx, nature: object, detected_at: object, data_categories: object,
            services: object, scope: object, likely_consequences: object,
            measures_taken: object) -> dict[str, Any]:
    staff = ctx.compliance_staff()
    now = clock.now()
    fields: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks = {
        "nature": lambda: rules.parse_text(nature, "nature"),
        "detected_at": lambda: rules.parse_detected_at(detected_at, now),
        "data_categories": lambda: rules.parse_categories(data_categories),
        "services": lambda: rules.parse_choices(services, "services", rules.SERVICES),
        "scope": lambda: rules.parse_scope(scope),
        "likely_consequences": lambda: rules.parse_text(likely_consequences,
                                                        "likely_consequences"),
        "measures_taken": lambda: rules.parse_text(measures_taken, "measures_taken"),
    }
    for name, check in checks.items():
        try:
            values[name] = check()
        except RuleError as err:
            fields[err.field or name] = err.message
    if fields:
        raise Invalid("Some fields are not valid", fields=fields)
    breach_id = uuid.uuid4()
    ctx.session.execute(B.insert().values(
        id=breach_id, nature=values["nature"], detected_at=values["detected_at"],
        declared_at=now, declared_by=staff.user_id, data_categories=values["data_categories"],
        services=values["services"], scope=values["scope"].as_dict(),
        likely_consequences=values["likely_consequences"],
        measures_taken=values["measures_taken"], stage=1))
    notified = _count_and_notify(ctx, _load(ctx, breach_id, lock=True))
    audit.append(ctx, "breach.declared", _subject(breach_id), {
        "detected_at": values["detected_at"].isoformat(),
        "data_categories": values["data_categories"], "services": values["services"],
        "scope_kind": values["scope"].kind, "controllers_notified": notified})
    return get_breach(ctx, str(breach_id))


def _load(ctx: Ctx, breach_id: object, lock: bool = False) -> Any:
    return row_by_id(ctx.session, B, breach_id, "breach", lock)


def _breach_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _count_and_notify(ctx: Ctx, row: Any) -> int:
    """Ask leads for the controllers in scope; store their counts; notify every controller
    not told yet, at the current stage. Returns how many were notified now."""
    scope = rules.Scope(row.scope["kind"], tuple(row.scope["ids"]),
                        datetime.fromisoformat(row.scope["changed_from"])
                        if row.scope.get("changed_from") else None,
                        datetime.fromisoformat(row.scope["changed_to"])
                        if row.scope.get("changed_to") else None)
    now = clock.now()
    try:
        found = rules.parse_scope_answer(
            ctx.services.breach_scope(scope.for_leads(list(row.data_categories))))
    except (Unavailable, ValueError) as exc:
        ctx.session.execute(update(B).where(B.c.id == row.id).values(count_error=str(exc)))
        log.warning("breach %s: the scope could not be counted: %s", row.id, exc)
        return 0
    for item in found:
        ctx.session.execute(pg_insert(C).values(
            breach_id=row.id, user_id=item["user_id"], network_id=item["network_id"],
            persons=item["persons"], records=item["records"], counted_at=now)
            .on_conflict_do_update(index_elements=["breach_id", "user_id"], set_={
                "persons": item["persons"], "records": item["records"], "counted_at": now}))
    ctx.session.execute(update(B).where(B.c.id == row.id).values(counted_at=now,
                                                                 count_error=None))
    untold = ctx.session.execute(select(C).where(
        C.c.breach_id == row.id,
        ~select(N.c.user_id).where(N.c.breach_id == row.id, N.c.user_id == C.c.user_id)
        .exists())).all()
    breach = _breach_dict(row)
    updates = _update_texts(ctx, row.id)
    for controller in untold:
        _notify(ctx, breach, controller, row.stage, "\n\n".join(updates) or None, first=True)
    return len(untold)


def _update_texts(ctx: Ctx, breach_id: Any) -> list[str]:
    return [r.text for r in ctx.session.execute(
        select(U.c.text).where(U.c.breach_id == breach_id).order_by(U.c.stage))]


def _notify(ctx: Ctx, breach: dict[str, Any], controller: Any, stage: int,
            update_text: str | None, first: bool) -> None:
    counts = {"persons": controller.persons, "records": controller.records}
    dpo = _dpo(ctx)
    approval_url = f"{ctx.settings.public_url}/breaches/{breach['id']}"
    subject, text = rules.notice_text(breach, counts, stage, dpo, update_text, approval_url,
                                      first=first)
    now = clock.now()
    ctx.session.execute(pg_insert(N).values(
        breach_id=breach["id"], user_id=controller.user_id, stage=stage, status=REQUESTED,
        requested_at=now).on_conflict_do_nothing())
    ctx.emit(NOTICE_EVENT, {
        "breach_id": str(breach["id"]), "user_id": controller.user_id,
        "network_id": controller.network_id, "stage": stage,
        "kind": "initial" if first else "update", "subject": subject, "text": text,
        "nature": breach["nature"], "data_categories": labelled(breach["data_categories"]),
        "persons": controller.persons, "records": controller.records,
        "likely_consequences": breach["likely_consequences"],
        "measures_taken": breach["measures_taken"], "dpo": dpo.as_dict(),
        "detected_at": breach["detected_at"].isoformat(),
        "deadline_at": rules.deadline(breach["detected_at"]).isoformat(),
        "approval_url": approval_url})


def post_update(ctx: Ctx, breach_id: object, text: object,
                measures_taken: object = None, likely_consequences: object = None
                ) -> dict[str, Any]:
    """The next stage: record what is new and send it to the same controllers."""
    staff = ctx.compliance_staff()
    row = _load(ctx, breach_id, lock=True)
    fields: dict[str, str] = {}
    changes: dict[str, Any] = {}
    try:
        clean = rules.parse_text(text, "text")
    except RuleError as err:
        fields["text"] = err.message
    for name, value in (("measures_taken", measures_taken),
                        ("likely_consequences", likely_consequences)):
        if value not in (None, ""):
            try:
                changes[name] = rules.parse_text(value, name)
            except RuleError as err:
                fields[name] = err.message
    if fields:
        raise Invalid("Some fields are not valid", fields=fields)
    stage, now = row.stage + 1, clock.now()
    ctx.session.execute(U.insert().values(breach_id=row.id, stage=stage, text=clean,
                                          created_at=now, created_by=staff.user_id))
    ctx.session.execute(update(B).where(B.c.id == row.id).values(stage=stage, **changes))
    breach = _breach_dict(_load(ctx, row.id))
    controllers = ctx.session.execute(select(C).where(C.c.breach_id == row.id)).all()
    for controller in controllers:
        _notify(ctx, breach, controller, stage, clean, first=False)
    audit.append(ctx, "breach.update_sent", _subject(row.id),
                 {"stage": stage, "controllers": len(controllers),
                  "changed": sorted(changes)})
    return get_breach(ctx, str(row.id))


def recount(ctx: Ctx, breach_id: object) -> dict[str, Any]:
    """Recompute the counts; controllers found for the first time get their notice."""
    ctx.compliance_staff()
    row = _load(ctx, breach_id, lock=True)
    notified = _count_and_notify(ctx, row)
    audit.append(ctx, "breach.recounted", _subject(row.id), {"controllers_notified": notified})
    return get_breach(ctx, str(row.id))


def on_notice_delivered(ctx: Ctx, payload: dict[str, Any]) -> None:
    """The mailer's word on one notice (``breach_notice_sent``): idempotent."""
    bid = parse_uuid(payload.get("breach_id"))
    status = payload.get("status")
    if bid is None or status not in (SENT, FAILED) or not isinstance(payload.get("stage"), int):
        log.warning("breach notice report ignored: %s", {k: payload.get(k) for k in (
            "breach_id", "stage", "status")})
        return
    ctx.session.execute(update(N).where(
        N.c.breach_id == bid, N.c.user_id == str(payload.get("user_id")),
        N.c.stage == payload["stage"], N.c.status != SENT)
        .values(status=status, delivered_at=clock.now()))


def _progress(ctx: Ctx, breach_id: Any) -> dict[str, Any]:
    notices: dict[str, int] = {str(status): int(n) for status, n in ctx.session.execute(
        select(N.c.status, func.count()).where(N.c.breach_id == breach_id)
        .group_by(N.c.status))}
    c = ctx.session.execute(select(
        func.count(), func.count(C.c.answered_at),
        func.count().filter(C.c.notify_authority.is_(True)),
        func.count().filter(C.c.notify_subjects.is_(True)),
        func.coalesce(func.sum(C.c.persons), 0), func.coalesce(func.sum(C.c.records), 0))
        .where(C.c.breach_id == breach_id)).one()
    return {"controllers": c[0], "persons": int(c[4]), "records": int(c[5]),
            "notices": {s: int(notices.get(s, 0)) for s in (REQUESTED, SENT, FAILED)},
            "answered": c[1], "authority_approved": c[2], "subjects_approved": c[3]}


def _staff_view(ctx: Ctx, row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "nature": row.nature, "detected_at": row.detected_at.isoformat(),
            "declared_at": row.declared_at.isoformat(), "declared_by": row.declared_by,
            "data_categories": labelled(list(row.data_categories)),
            "services": list(row.services), "scope": row.scope,
            "likely_consequences": row.likely_consequences,
            "measures_taken": row.measures_taken, "stage": row.stage,
            "counted_at": row.counted_at.isoformat() if row.counted_at else None,
            "count_error": row.count_error,
            "countdown": rules.countdown(row.detected_at, clock.now()),
            "progress": _progress(ctx, row.id),
            "updates": [{"stage": u.stage, "text": u.text, "created_at": u.created_at.isoformat()}
                        for u in ctx.session.execute(select(U).where(U.c.breach_id == row.id)
                                                     .order_by(U.c.stage))]}


def get_breach(ctx: Ctx, breach_id: object) -> dict[str, Any]:
    ctx.compliance_staff()
    return _staff_view(ctx, _load(ctx, breach_id))


def list_breaches(ctx: Ctx, cursor: object = None, limit: object = None) -> dict[str, Any]:
    ctx.compliance_staff()
    size = paging.check_limit(limit)
    query = select(B).order_by(B.c.declared_at.desc(), B.c.id.desc()).limit(size + 1)
    after = paging.decode_cursor(cursor, datetime, uuid.UUID, kind="breach")
    if after is not None:
        query = query.where(tuple_(B.c.declared_at, B.c.id) < after)
    rows = ctx.session.execute(query).all()
    items = [_staff_view(ctx, r) for r in rows[:size]]
    last = rows[size - 1] if len(rows) > size else None
    return {"items": items, "next_cursor": paging.encode_cursor(
        last.declared_at, last.id, kind="breach") if last is not None else None}


def list_controllers(ctx: Ctx, breach_id: object, cursor: object = None,
                     limit: object = None) -> dict[str, Any]:
    """Per controller: counts, each stage's notice status, the answer."""
    ctx.compliance_staff()
    row = _load(ctx, breach_id)
    size = paging.check_limit(limit)
    query = select(C).where(C.c.breach_id == row.id).order_by(C.c.user_id).limit(size + 1)
    after = paging.decode_cursor(cursor, str, kind="controller")
    if after is not None:
        query = query.where(C.c.user_id > after[0])
    fetched = ctx.session.execute(query).all()
    controllers = fetched[:size]
    notices: dict[str, list[dict[str, Any]]] = {}
    for n in ctx.session.execute(select(N).where(
            N.c.breach_id == row.id, N.c.user_id.in_([c.user_id for c in controllers]))
            .order_by(N.c.stage)):
        notices.setdefault(n.user_id, []).append({
            "stage": n.stage, "status": n.status, "requested_at": n.requested_at.isoformat(),
            "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None})
    items = [{"user_id": c.user_id, "network_id": c.network_id, "persons": c.persons,
              "records": c.records, "counted_at": c.counted_at.isoformat(),
              "answered_at": c.answered_at.isoformat() if c.answered_at else None,
              "notify_authority": c.notify_authority, "notify_subjects": c.notify_subjects,
              "notices": notices.get(c.user_id, [])} for c in controllers]
    return {"items": items, "next_cursor": paging.encode_cursor(
        controllers[-1].user_id, kind="controller") if len(fetched) > size else None}


# --- the controller's side --------------------------------------------------------------------
def _mine(ctx: Ctx, breach_id: object, lock: bool = False) -> tuple[Any, Any]:
    """The breach and the caller's row in it; a breach that does not concern them is a 404."""
    me = ctx.member()
    row = _load(ctx, breach_id)
    return row, one_row(ctx.session, select(C).where(C.c.breach_id == row.id,
                                                    C.c.user_id == me.user_id), "breach", lock)


def my_breach(ctx: Ctx, breach_id: object) -> dict[str, Any]:
    row, mine = _mine(ctx, breach_id)
    return {"id": str(row.id), "nature": row.nature, "detected_at": row.detected_at.isoformat(),
            "data_categories": labelled(list(row.data_categories)),
            "likely_consequences": row.likely_consequences,
            "measures_taken": row.measures_taken, "stage": row.stage,
            "persons": mine.persons, "records": mine.records,
            "countdown": rules.countdown(row.detected_at, clock.now()),
            "dpo": _dpo(ctx).as_dict(),
            "updates": [{"stage": u.stage, "text": u.text, "created_at": u.created_at.isoformat()}
                        for u in ctx.session.execute(select(U).where(U.c.breach_id == row.id)
                                                     .order_by(U.c.stage))],
            "answered_at": mine.answered_at.isoformat() if mine.answered_at else None,
            "notify_authority": mine.notify_authority, "notify_subjects": mine.notify_subjects,
            "authority_record_available": mine.authority_record is not None}


def approve(ctx: Ctx, breach_id: object, notify_authority: object,
            notify_subjects: object) -> dict[str, Any]:
    """The controller's instruction (annex IV.9): notify the CNIL on their behalf, and/or the
    persons concerned. Given once."""
    fields = {name: "true or false" for name, value in (
        ("notify_authority", notify_authority), ("notify_subjects", notify_subjects))
        if not isinstance(value, bool)}
    if fields:
        raise Invalid("Some fields are not valid", fields=fields)
    row, mine = _mine(ctx, breach_id, lock=True)
    if mine.answered_at is not None:
        raise Conflict("You already answered for this breach", code="already_answered")
    now = clock.now()
    record = None
    breach = _breach_dict(row)
    if notify_authority:
        first_notice = ctx.session.execute(select(func.min(N.c.requested_at)).where(
            N.c.breach_id == row.id, N.c.user_id == mine.user_id)).scalar()
        stages = [{"stage": 1, "at": row.declared_at.isoformat(), "text": "notification initiale"},
                  *({"stage": u.stage, "at": u.created_at.isoformat(), "text": u.text}
                    for u in ctx.session.execute(select(U).where(U.c.breach_id == row.id)
                                                 .order_by(U.c.stage)))]
        record = rules.authority_record(
            breach, {"user_id": mine.user_id, "network_id": mine.network_id,
                     "persons": mine.persons, "records": mine.records},
            stages, _dpo(ctx), ctx.settings.processor_name, now, bool(notify_subjects),
            first_notice)
        record["generated_at"] = now.isoformat()
    ctx.session.execute(update(C).where(C.c.breach_id == row.id, C.c.user_id == mine.user_id)
                        .values(answered_at=now, notify_authority=notify_authority,
                                notify_subjects=notify_subjects, authority_record=record))
    if notify_subjects:
        subject, text = rules.subject_notice_text(breach, _dpo(ctx))
        scope = rules.Scope(row.scope["kind"], tuple(row.scope["ids"]), None, None)
        leads_scope = scope.for_leads(list(row.data_categories))
        leads_scope.update(changed_from=row.scope.get("changed_from"),
                           changed_to=row.scope.get("changed_to"))
        ctx.emit(SUBJECT_NOTICE_EVENT, {
            "breach_id": str(row.id), "user_id": mine.user_id, "network_id": mine.network_id,
            "scope": leads_scope, "subject": subject, "text": text,
            "dpo": _dpo(ctx).as_dict()})
    audit.append(ctx, "breach.controller_answered", _subject(row.id), {
        "user_id": mine.user_id, "notify_authority": notify_authority,
        "notify_subjects": notify_subjects})
    return my_breach(ctx, str(row.id))


def authority_record(ctx: Ctx, breach_id: object) -> dict[str, Any]:
    """The controller's authority notification record, once they approved it."""
    _, mine = _mine(ctx, breach_id)
    if mine.authority_record is None:
        raise NotFound("No authority notification was approved for this breach")
    return dict(mine.authority_record)


def authority_record_document(ctx: Ctx, breach_id: object) -> dict[str, Any]:
    """The same record as a printable page."""
    record = authority_record(ctx, breach_id)
    return {"filename": f"notification-violation-{record['breach_id']}.html",
            "html": documents.authority_record_html(record)}


def authority_records(ctx: Ctx, breach_id: object) -> dict[str, Any]:
    """Every record controllers approved for a breach, for compliance staff to file."""
    ctx.compliance_staff()
    row = _load(ctx, breach_id)
    records = [dict(r.authority_record) for r in ctx.session.execute(
        select(C.c.authority_record).where(C.c.breach_id == row.id,
                                           C.c.authority_record.is_not(None))
        .order_by(C.c.answered_at))]
    return {"items": records, "next_cursor": None}

