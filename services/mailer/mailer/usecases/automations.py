"""Admin tool 4: automations, the user's pause switch, and ``lead_status_changed``.

Exactly once per (status change, rule): the status change's event message id and the rule
id are a unique pair of ``lead_emails`` (``uq_lead_emails_trigger``), inserted with
``ON CONFLICT DO NOTHING``, so a redelivered or replayed event, or two instances handling
it, make one row; the row is then sent by whoever claims it (``sending.deliver``). A delayed
email is that row, ``scheduled`` until its ``due_at``: it survives restarts.

Nothing is sent (checked when the row is sent, ``prepare``) to an erased or deleted lead, a
lead no longer in the rule's status, from a closed office, or while the owner paused
automations; the opposition list is checked for every email. A lead that moves on cancels
its pending delayed emails at once (``lead_status_seen`` keeps the latest change per lead,
so events handled out of order cannot revive an older one).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mailer.domain import automations as rules
from mailer.domain.templating import Source
from mailer.models import automation_pauses, automations, email_templates, lead_emails, lead_status_seen
from mailer.usecases.context import Ctx, admin, member, parse_id
from mailer.usecases.lead_emails import (
    AUTOMATION,
    CANCELLED,
    DUE_EVENT,
    QUEUED,
    SCHEDULED,
    lead_contact,
    render_for,
    sealed,
)
from suivi_common import clock, paging
from suivi_common.database import rows_affected
from suivi_common.errors import Invalid, NotFound

log = logging.getLogger(__name__)

A = automations
#: Names this listing's cursors (another listing's cursor is refused).
CURSOR_KIND = "automations"
LE = lead_emails


def _view(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "status": row.status, "template_id": str(row.template_id),
            "delay_hours": row.delay_hours, "enabled": row.enabled,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}


def _pipeline_statuses(ctx: Ctx) -> list[str] | None:
    """The admin's network pipeline, asked of leads for the admin (None if it has none)."""
    pipeline = ctx.leads.for_user().office_get_pipeline()
    statuses = pipeline.get("statuses") if isinstance(pipeline, Mapping) else None
    return list(statuses) if isinstance(statuses, list) else None


def _checked(ctx: Ctx, network_id: str, data: Any) -> tuple[rules.Rule, uuid.UUID]:
    if not isinstance(data, Mapping):
        raise Invalid("The automation must be an object", fields={"_schema": "not an object"})
    fields: dict[str, Any] = {}
    try:
        rule = rules.check_rule(data, _pipeline_statuses(ctx))
    except Invalid as exc:
        fields.update(exc.fields or {})
    try:
        template_id = uuid.UUID(str(data.get("template_id")))
    except ValueError:
        template_id = None
    if template_id is None or ctx.session.execute(select(email_templates.c.id).where(
            email_templates.c.id == template_id,
            email_templates.c.network_id == network_id)).first() is None:
        fields["template_id"] = "no such template in your network"
    if fields:
        raise Invalid("The automation is not valid", fields=fields)
    assert template_id is not None
    return rule, template_id


def _load(ctx: Ctx, network_id: str, automation_id: Any, lock: bool = False) -> Any:
    query = select(A).where(A.c.id == parse_id(automation_id, "automation"), A.c.network_id == network_id)
    row = ctx.session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("No such automation")
    return row


def list_automations(ctx: Ctx, cursor: object, limit: object) -> dict[str, Any]:
    p = admin(ctx.principal)
    size = paging.check_limit(limit)
    query = paging.keyset(select(A).where(A.c.network_id == p.network_id), A, cursor, size,
                          kind=CURSOR_KIND)
    rows = ctx.session.execute(query).all()
    return paging.page(rows, size, [_view(r) for r in rows[:size]], kind=CURSOR_KIND)


def create_automation(ctx: Ctx, data: Any) -> dict[str, Any]:
    p = admin(ctx.principal)
    assert p.network_id
    rule, template_id = _checked(ctx, p.network_id, data)
    now, automation_id = clock.now(), uuid.uuid4()
    ctx.session.execute(A.insert().values(
        id=automation_id, network_id=p.network_id, status=rule.status, template_id=template_id,
        delay_hours=rule.delay_hours, enabled=rule.enabled, created_at=now, updated_at=now))
    return _view(_load(ctx, p.network_id, automation_id))


def update_automation(ctx: Ctx, automation_id: Any, data: Any) -> dict[str, Any]:
    p = admin(ctx.principal)
    assert p.network_id
    row = _load(ctx, p.network_id, automation_id, lock=True)
    rule, template_id = _checked(ctx, p.network_id, data)
    ctx.session.execute(update(A).where(A.c.id == row.id).values(
        status=rule.status, template_id=template_id, delay_hours=rule.delay_hours,
        enabled=rule.enabled, updated_at=clock.now()))
    return _view(_load(ctx, p.network_id, row.id))


def delete_automation(ctx: Ctx, automation_id: Any) -> dict[str, Any]:
    """The rule goes; its emails not yet rendered are cancelled (sent ones stay history)."""
    p = admin(ctx.principal)
    assert p.network_id
    row = _load(ctx, p.network_id, automation_id, lock=True)
    ctx.session.execute(update(LE).where(
        LE.c.automation_id == row.id, LE.c.status.in_((SCHEDULED, QUEUED)), LE.c.subject.is_(None))
        .values(status=CANCELLED, cancel_reason=rules.RULE_GONE))
    ctx.session.execute(delete(A).where(A.c.id == row.id))
    return {"id": str(row.id), "deleted": True}


# --- the user's switch --------------------------------------------------------------------

def _paused_at(session: Any, user_id: str) -> Any:
    return session.execute(select(automation_pauses.c.paused_at).where(
        automation_pauses.c.user_id == user_id)).scalar()


def get_pause(ctx: Ctx) -> dict[str, Any]:
    p = member(ctx.principal)
    at = _paused_at(ctx.session, p.user_id)
    return {"paused": at is not None, "paused_at": at.isoformat() if at else None}


def set_pause(ctx: Ctx, paused: Any) -> dict[str, Any]:
    """Pause (or resume) the network's automations for the caller's office. While paused,
    nothing is scheduled, and what was scheduled is not sent when it falls due."""
    p = member(ctx.principal)
    if not isinstance(paused, bool):
        raise Invalid("paused must be true or false", fields={"paused": "must be a boolean"})
    if paused:
        ctx.session.execute(pg_insert(automation_pauses).values(user_id=p.user_id, paused_at=clock.now())
                            .on_conflict_do_nothing(index_elements=["user_id"]))
    else:
        ctx.session.execute(delete(automation_pauses).where(automation_pauses.c.user_id == p.user_id))
    return get_pause(ctx)


# --- the event ------------------------------------------------------------------------------

def on_status_changed(ctx: Ctx, payload: Mapping[str, Any]) -> int:
    """leads' ``lead_status_changed``: schedule the matching rules' emails, once (one row
    per event message id and rule)."""
    message_id = ctx.event_id()
    try:
        lead_id = uuid.UUID(str(payload.get("lead_id")))
    except ValueError:
        log.warning("lead_status_changed without a valid lead id")
        return 0
    owner_id, network_id = str(payload.get("user_id") or ""), str(payload.get("network_id") or "")
    new_status = payload.get("new_status")
    changed_at = rules.parse_instant(payload.get("changed_at")) or clock.now()
    s = lead_status_seen
    seen = ctx.session.execute(
        pg_insert(s).values(lead_id=lead_id, changed_at=changed_at)
        .on_conflict_do_update(index_elements=["lead_id"],
                               set_={"changed_at": func.greatest(s.c.changed_at, changed_at)})
        .returning(s.c.changed_at, s.c.erased_at)).one()
    # the lead moved on: its delayed emails from earlier changes will not go out
    ctx.session.execute(update(LE).where(
        LE.c.lead_id == lead_id, LE.c.origin == AUTOMATION, LE.c.status == SCHEDULED,
        LE.c.subject.is_(None), LE.c.trigger_changed_at < seen.changed_at)
        .values(status=CANCELLED, cancel_reason=rules.LEFT_STATUS))
    if (seen.erased_at is not None or changed_at < seen.changed_at or not owner_id
            or not network_id or not rules.fires_on(payload.get("cause"))):
        return 0
    if _paused_at(ctx.session, owner_id) is not None:
        return 0
    matching = ctx.session.execute(select(A).where(
        A.c.network_id == network_id, A.c.status == new_status, A.c.enabled.is_(True))).all()
    now, made = clock.now(), 0
    for rule in matching:
        due = rules.due_at(changed_at, rule.delay_hours)
        status = QUEUED if due <= now else SCHEDULED
        email_id = uuid.uuid4()
        inserted = ctx.session.execute(
            pg_insert(LE).values(
                id=email_id, lead_id=lead_id, owner_id=owner_id, network_id=network_id,
                origin=AUTOMATION, template_id=rule.template_id, automation_id=rule.id,
                trigger_id=message_id, trigger_changed_at=changed_at, status=status, due_at=due,
                created_at=now)
            .on_conflict_do_nothing(index_elements=["trigger_id", "automation_id"],
                                    index_where=LE.c.trigger_id.isnot(None))
            .returning(LE.c.id)).first()
        if inserted is not None:
            made += 1
            if status == QUEUED:
                ctx.emit(DUE_EVENT, {"email_id": str(email_id)})
    return made


def _cancel(ctx: Ctx, row: Any, reason: str) -> None:
    with ctx.autonomous() as tx:
        tx.execute(update(LE).where(LE.c.id == row.id, LE.c.status == QUEUED, LE.c.subject.is_(None))
                   .values(status=CANCELLED, cancel_reason=reason))
    log.info("automation email %s for lead %s not sent: %s", row.id, row.lead_id, reason)


def prepare(ctx: Ctx, row: Any) -> bool:
    """Check, when it falls due, that an automation's email may go out, and render it with
    the template as it is now. False: cancelled (or another worker got there first)."""
    from mailer.usecases.templates import load_source

    rule = ctx.session.execute(select(A).where(A.c.id == row.automation_id)).first()
    rule_status = rule.status if rule is not None and rule.enabled else None
    contact: dict[str, Any] | None = None
    office_open = paused = False
    if rule_status is not None:
        try:
            contact = lead_contact(ctx, str(row.lead_id))
        except NotFound:
            contact = None
        paused = _paused_at(ctx.session, row.owner_id) is not None
        if contact is not None and not paused and contact.get("status") == rule_status:
            office_open = bool(ctx.accounts.office_active(row.owner_id))
    reason = rules.cancel_reason(rule_status=rule_status, lead=contact, owner_id=row.owner_id,
                                 office_open=office_open, paused=paused)
    if reason is not None:
        _cancel(ctx, row, reason)
        return False
    assert rule is not None and contact is not None
    try:
        template, source = load_source(ctx.session, row.network_id, rule.template_id)
    except NotFound:
        _cancel(ctx, row, rules.RULE_GONE)
        return False
    user = ctx.accounts.get_user(row.owner_id)
    address, bidx, rendered = render_for(ctx, Source(source.subject, source.text, source.html),
                                         contact, row.owner_id, user)
    with ctx.autonomous() as tx:
        done = rows_affected(tx.execute(update(LE).where(LE.c.id == row.id, LE.c.status == QUEUED,
                                           LE.c.subject.is_(None))
                          .values(template_id=template.id, **sealed(
                              ctx.vault_in(tx), row.network_id, row.id, to=address, bidx=bidx,
                              rendered=rendered, locale=template.locale))))
    return bool(done) or ctx.session.execute(select(LE.c.subject).where(LE.c.id == row.id)).scalar() \
        is not None
