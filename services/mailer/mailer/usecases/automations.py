"""Admin tool 4: automations, the user's pause switch, and ``lead_status_changed``.

Exactly once per (status change, rule): the status change's event message id and the rule
id are a unique pair of ``lead_emails`` (``uq_lead_emails_trigger``), inserted with
``ON CONFLICT DO NOTHING``, so a redelivered or replayed event, or two instances handling
it, make one row. The row is ``queued`` when the rule has no delay, ``scheduled`` until its
``due_at`` otherwise: it lives in the database and survives restarts. The handler asks
nothing of leads or accounts and emits nothing; the dispatcher (``sending``) claims due
rows in batches, checks and renders them, and sends each once.

Nothing is sent (checked by the dispatcher when the row is sent, ``sending._prepare``) to
an erased or deleted lead, a lead no longer in the rule's status, from a closed office, or
while the owner paused automations; the opposition list is checked for every email. A
lead that moves on cancels its pending delayed emails at once (``lead_status_seen`` keeps
the latest change per lead, so events handled out of order cannot revive an older one).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mailer.domain import automations as rules
from mailer.models import automation_pauses, automations, email_templates, lead_emails
from mailer.usecases.context import Ctx, admin, member, parse_id
from mailer.usecases.lead_emails import (
    AUTOMATION,
    CANCELLED,
    QUEUED,
    SCHEDULED,
)
from suivi_common import clock, paging
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
    return paging.listing(ctx.session, select(A).where(A.c.network_id == p.network_id), A,
                          cursor, size, _view, kind=CURSOR_KIND)


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

#: ``lead_status_seen`` keeps the latest change per lead (``greatest``). Plain SQL because
#: SQLAlchemy cannot cache a PostgreSQL ``ON CONFLICT`` statement: it would compile it
#: again for every event (about a millisecond of CPU).
_SEEN = text("""
INSERT INTO lead_status_seen (lead_id, changed_at) VALUES (:lead_id, :changed_at)
ON CONFLICT (lead_id) DO UPDATE
    SET changed_at = greatest(lead_status_seen.changed_at, EXCLUDED.changed_at)
RETURNING changed_at, erased_at""")


#: What a status change does once ``_SEEN`` holds the lead's row: the lead's older delayed
#: emails cancelled (``trigger_changed_at`` before the latest change seen: never the rows
#: this statement inserts, whose change is that latest one) and, when the change fires
#: (``:fire``), one row per matching enabled rule unless the owner paused automations,
#: ``queued`` when due now, else ``scheduled`` (``rules.due_at``: the change plus the rule's
#: delay). Nothing for a (change, rule) pair that has its row already. One statement
#: instead of three (the cancel, the rules read, the insert): fewer round trips for every
#: status change. Plain SQL: SQLAlchemy cannot cache a PostgreSQL ``ON CONFLICT``.
_CANCEL_AND_QUEUE = text(f"""
WITH cancelled AS (
    UPDATE lead_emails SET status = '{CANCELLED}', cancel_reason = '{rules.LEFT_STATUS}'
    WHERE lead_id = CAST(:lead_id AS uuid) AND origin = '{AUTOMATION}' AND status = '{SCHEDULED}'
      AND subject IS NULL AND trigger_changed_at < CAST(:seen_changed_at AS timestamptz)
    RETURNING 1),
made AS (
    INSERT INTO lead_emails (id, lead_id, owner_id, network_id, origin, template_id,
        automation_id, trigger_id, trigger_changed_at, status, due_at, created_at)
    SELECT gen_random_uuid(), CAST(:lead_id AS uuid), CAST(:owner_id AS varchar),
        CAST(:network_id AS varchar), '{AUTOMATION}', a.template_id,
        a.id, CAST(:trigger_id AS varchar), CAST(:changed_at AS timestamptz),
        CASE WHEN d.due <= CAST(:now AS timestamptz) THEN '{QUEUED}' ELSE '{SCHEDULED}' END,
        d.due, CAST(:now AS timestamptz)
    FROM automations AS a CROSS JOIN LATERAL (
        SELECT CAST(:changed_at AS timestamptz) + make_interval(hours => a.delay_hours)
            AS due) AS d
    WHERE CAST(:fire AS boolean) AND a.network_id = CAST(:network_id AS varchar)
      AND a.status = CAST(:new_status AS varchar) AND a.enabled
      AND NOT EXISTS (SELECT 1 FROM automation_pauses AS p WHERE p.user_id = CAST(:owner_id AS varchar))
    ON CONFLICT (trigger_id, automation_id) WHERE trigger_id IS NOT NULL DO NOTHING
    RETURNING 1)
SELECT (SELECT count(*) FROM made), (SELECT count(*) FROM cancelled)""")


def on_status_changed(ctx: Ctx, payload: Mapping[str, Any]) -> int:
    """leads' ``lead_status_changed``: the matching rules' emails, once (one row per event
    message id and rule), ``queued`` when due now, else ``scheduled``. No event and no
    question to another service here: the dispatcher takes them in batches."""
    message_id = ctx.event_id()
    try:
        lead_id = uuid.UUID(str(payload.get("lead_id")))
    except ValueError:
        log.warning("lead_status_changed without a valid lead id")
        return 0
    owner_id, network_id = str(payload.get("user_id") or ""), str(payload.get("network_id") or "")
    new_status = payload.get("new_status")
    changed_at = rules.parse_instant(payload.get("changed_at")) or clock.now()
    seen = ctx.session.execute(_SEEN, {"lead_id": lead_id, "changed_at": changed_at}).one()
    fire = not (seen.erased_at is not None or changed_at < seen.changed_at or not owner_id
                or not network_id or not rules.fires_on(payload.get("cause")))
    # the lead moved on: its delayed emails from earlier changes will not go out; and the
    # matching rules' rows. One statement, after the one above: its snapshot is taken once
    # the row lock above is held and sees the rows of a change handled concurrently
    made, _cancelled = ctx.session.execute(_CANCEL_AND_QUEUE, {
        "lead_id": lead_id, "seen_changed_at": seen.changed_at, "fire": fire,
        "owner_id": owner_id, "network_id": network_id, "new_status": str(new_status or ""),
        "trigger_id": message_id, "changed_at": changed_at, "now": clock.now()}).one()
    return int(made)
