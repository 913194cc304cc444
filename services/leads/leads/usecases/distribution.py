"""Selling stock: manual takes, fair auto-delivery runs, re-keying sold leads.

Guarantees, and what gives them:

* a lead is sold at most once: ``deliveries.lead_id`` is the primary key, and a sale
  deletes the stock row in the same statement that inserts the delivery, picking rows
  with ``FOR UPDATE SKIP LOCKED`` so concurrent sellers (any number of instances) get
  disjoint leads instead of waiting or failing;
* a plan never exceeds its quota: every sale to a plan happens while holding its
  entitlement row lock (``FOR UPDATE``), and ``clock.today()`` is read *after* the lock
  (ARCHITECTURE "Plans <-> leads protocol"), so racing takes, runs and the day close
  serialise per plan;
* nothing is lost: the stock row, the delivery, the day totals and the ``lead_delivered``
  events (written straight into the outbox, set-based) commit or roll back together;
* a take reads its own writes: it files its leads in the buyer's office in the same
  transaction (``usecases.office.one_lead.file_sales``), so the leads it returns can be worked on
  at once; ``lead_delivered`` still goes out for other consumers, and the office's own
  handler finds them filed. Auto-delivered leads are filed by that handler: a run returns
  no lead to anyone, and its set-based statement stays free of per-lead crypto.

Groups are country x tier x kind (issue 13 §1): a plan buys one office kind, and only stock
of that kind serves it, so a distribution plan never receives a construction lead; every
guarantee above holds per group exactly as it did per country x tier.

Auto-delivery works one country x tier x kind group per transaction under a transaction-level
advisory lock taken with ``pg_try_advisory_xact_lock``: two instances run different groups
in parallel, and a group being served is skipped rather than waited for. The split is
computed in Python with ``domain.allocation`` (fair shares + persisted carry); the leads
are then assigned with one ``INSERT ... SELECT`` that pairs stock ranked by age with the
plans' slots interleaved round-robin (so if a concurrent take grabbed a few rows, the
missing slots are spread over plans rather than hitting the last one).

Each plan's totals of the day live in the day book (``usecases.daybook``), written under
the plan's row lock; the day close is there too.

Re-keying (platform scope -> buyer's network) is per-lead crypto, so it is not done in
the auto-delivery statement: a take re-keys its handful of leads inline (it decrypts them
anyway to return them); auto-delivered leads are re-keyed by ``rekey_pending`` in batches
shortly after (``deliveries.rekeyed_at IS NULL`` marks them). Readers always decrypt with
the lead's ``key_scope``, so a lead is readable at every moment.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import eventlet
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from leads.domain.allocation import CARRY_LIMIT, PlanNeed, allocate
from leads.domain.daybook import shortfall_after, take_size
from leads.models import (
    deliveries,
    entitlements,
    leads,
)
from leads.settings import TUNABLES
from leads.usecases import daybook
from leads.usecases.capture import lead_blind_indexes
from leads.usecases.context import Ctx
from leads.usecases.entitlements import auto_delivery_groups_of, quota_on, record_take_permission
from leads.usecases.office import one_lead as office
from leads.usecases.stock import stock_cutoff
from suivi_common import clock, outbox
from suivi_common.auth import require
from suivi_common.crypto import KeyDestroyed, Vault
from suivi_common.database import one_row
from suivi_common.errors import Conflict, Invalid, NotFound
from suivi_common.kinds import DEFAULT_KIND, kind_of, parse_kind
from suivi_common.permissions import TAKE_LEADS

GROUP_LOCK_CLASS = 0x1EAD  # advisory lock namespace of auto-delivery groups


def in_take_transaction() -> None:
    """Called inside a take's transaction after its leads are moved (tests pause here)."""


def event_headers(context: Mapping[str, Any]) -> str:
    """The headers ``outbox.emit`` writes, as the JSON the set-based event rows bind."""
    return json.dumps(outbox.headers(context))


_DELIVERED_EVENTS = """
    INSERT INTO outbox (id, event_type, payload, headers)
    SELECT gen_random_uuid(), 'lead_delivered',
           jsonb_build_object('lead_id', ins.lead_id::text, 'plan_id', ins.plan_id,
                              'user_id', ins.user_id, 'network_id', ins.network_id,
                              'date', CAST(:day AS date)::text,
                              'delivered_at', CAST(:now_iso AS text)),
           CAST(:headers AS jsonb)
    FROM ins
"""

_TAKE_SQL = text(f"""
WITH picked AS (
    SELECT lead_id FROM stock
    WHERE country = :country AND tier = :tier AND kind = :kind AND captured_at >= :cutoff
    ORDER BY captured_at, lead_id
    LIMIT :n
    FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM stock s USING picked p WHERE s.lead_id = p.lead_id
    RETURNING s.lead_id, s.captured_at
), ins AS (
    INSERT INTO deliveries (lead_id, plan_id, user_id, network_id, day, delivered_at, via,
                            rekeyed_at)
    SELECT lead_id, :plan_id, :user_id, :network_id, :day, :now, 'take', :now FROM gone
    RETURNING lead_id, plan_id, user_id, network_id
), ev AS ({_DELIVERED_EVENTS})
SELECT l.id, l.key_scope, l.pii, l.country, l.tier, l.kind, l.captured_at
FROM ins JOIN leads l ON l.id = ins.lead_id
ORDER BY l.captured_at, l.id
""")

_RUN_SQL = text(f"""
WITH alloc AS (
    SELECT * FROM unnest(CAST(:plan_ids AS text[]), CAST(:user_ids AS text[]),
                         CAST(:network_ids AS text[]), CAST(:counts AS int[]))
        AS a(plan_id, user_id, network_id, n)
), slots AS (
    SELECT plan_id, user_id, network_id, row_number() OVER (ORDER BY g, plan_id) AS rn
    FROM alloc CROSS JOIN LATERAL generate_series(1, alloc.n) AS g
), picked AS (
    SELECT ctid AS tid, lead_id, captured_at FROM stock
    WHERE country = :country AND tier = :tier AND kind = :kind AND captured_at >= :cutoff
    ORDER BY captured_at, lead_id
    LIMIT :total
    FOR UPDATE SKIP LOCKED
), ranked AS (
    SELECT lead_id, row_number() OVER (ORDER BY captured_at, lead_id) AS rn FROM picked
), gone AS (  -- by tuple id: the rows are locked by this statement, so they cannot move
    DELETE FROM stock WHERE ctid = ANY(ARRAY(SELECT tid FROM picked)) RETURNING lead_id
), ins AS (
    INSERT INTO deliveries (lead_id, plan_id, user_id, network_id, day, delivered_at, via)
    SELECT r.lead_id, sl.plan_id, sl.user_id, sl.network_id, :day, :now, 'auto'
    FROM ranked r JOIN slots sl ON sl.rn = r.rn
    RETURNING lead_id, plan_id, user_id, network_id
), ev AS ({_DELIVERED_EVENTS})
SELECT plan_id, count(*) AS n FROM ins GROUP BY plan_id
""")


_SAVE_CARRY = text("""
UPDATE entitlements e SET carry = c.carry
FROM unnest(CAST(:plan_ids AS text[]), CAST(:carry AS float8[])) AS c(plan_id, carry)
WHERE e.plan_id = c.plan_id
""")


# --- reading and re-keying leads ----------------------------------------------------------------

PHONE_FIELDS = ("mobile", "landline")


def lead_view(row: Any, data: Mapping[str, Any] | None, delivery: Mapping[str, Any]) -> dict[str, Any]:
    """The buyer's view of a lead: every captured field, phones in E.164."""
    out: dict[str, Any] = {"id": str(row.id), "country": row.country, "tier": row.tier,
                           "kind": getattr(row, "kind", DEFAULT_KIND),
                           "captured_at": row.captured_at.isoformat(), **delivery}
    data = dict(data or {})
    for name in PHONE_FIELDS:
        phone = data.get(name)
        data[name] = phone.get("e164") if isinstance(phone, Mapping) else phone
    out.update(data)
    return out


_REKEY_SQL = text("""
UPDATE leads l SET key_scope = u.scope, pii = u.pii, email_bidx = u.email,
                   mobile_bidx = u.mobile, landline_bidx = u.landline
FROM unnest(CAST(:ids AS uuid[]), CAST(:scopes AS text[]), CAST(:piis AS bytea[]),
            CAST(:emails AS bytea[]), CAST(:mobiles AS bytea[]), CAST(:landlines AS bytea[]))
    AS u(id, scope, pii, email, mobile, landline)
WHERE l.id = u.id
""")


def _rekey_rows(session: Session, vault: Vault, rows: Iterable[Any],
                scope_of: Mapping[Any, str]) -> dict[Any, dict[str, Any] | None]:
    """Move each lead's personal data to its buyer's scope; returns the decrypted data."""
    decrypted: dict[Any, dict[str, Any] | None] = {}
    updates = []
    for row in rows:
        target = scope_of[row.id]
        data = None
        if row.pii is not None:
            try:
                data = json.loads(vault.decrypt(row.key_scope, "leads", "pii", row.id, row.pii) or "null")
            except KeyDestroyed:
                data = None
        decrypted[row.id] = data
        if row.key_scope == target:
            continue
        try:
            values = {"pii": None if data is None else vault.encrypt(
                          target, "leads", "pii", row.id, json.dumps(data)),
                      **lead_blind_indexes(vault, target, data or {})}
        except KeyDestroyed:  # the buyer's network was shredded: nothing may survive
            values = {"pii": None, "email_bidx": None, "mobile_bidx": None, "landline_bidx": None}
            decrypted[row.id] = None
        updates.append({"lid": row.id, "key_scope": target, **values})
    if updates:
        session.execute(_REKEY_SQL, {
            col: [u[key] for u in updates]
            for col, key in (("ids", "lid"), ("scopes", "key_scope"), ("piis", "pii"),
                             ("emails", "email_bidx"), ("mobiles", "mobile_bidx"),
                             ("landlines", "landline_bidx"))})
    return decrypted


def rekey_pending(session: Session, vault: Vault, limit: int, now: datetime) -> int:
    """Re-key one batch of sold leads still under the platform scope; returns how many."""
    pending = session.execute(
        select(deliveries.c.lead_id, deliveries.c.network_id)
        .where(deliveries.c.rekeyed_at.is_(None))
        .order_by(deliveries.c.delivered_at).limit(limit)
        .with_for_update(skip_locked=True)).all()
    if not pending:
        return 0
    scope_of = {p.lead_id: p.network_id for p in pending}
    rows = session.execute(select(leads.c.id, leads.c.key_scope, leads.c.pii)
                           .where(leads.c.id.in_(list(scope_of)))).all()
    _rekey_rows(session, vault, rows, scope_of)
    session.execute(update(deliveries).where(deliveries.c.lead_id.in_(list(scope_of)))
                    .values(rekeyed_at=now))
    return len(pending)


# --- taking -----------------------------------------------------------------------------------

INTERNAL_ROLES = ("staff", "service")


def parse_limit(limit: Any) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise Invalid("max must be a positive integer", fields={"max": "at least 1"})
    return limit


def _owned_plan(session: Session, plan_id: str, user_id: str | None) -> None:
    """The plan is this user's: another's, or none, is NotFound (terms art. 10.A)."""
    one_row(session, select(entitlements.c.user_id).where(
        entitlements.c.plan_id == plan_id, entitlements.c.user_id == user_id), "plan")


def take(ctx: Ctx, user_id: str, plan_id: Any, requested: Any = None) -> dict[str, Any]:
    """Hand the owner up to the rest of today's quota, oldest fresh leads first.

    The office's one check (``ctx.require_office_open``, terms art. 10) is made before any
    lock is taken: it may ask accounts."""
    requested, plan_id = parse_limit(requested), str(plan_id)[:64]
    session, vault = ctx.session, ctx.vault
    _owned_plan(session, plan_id, user_id)
    ctx.require_office_open(user_id)
    ent = session.execute(select(entitlements).where(entitlements.c.plan_id == plan_id)
                          .with_for_update()).one()
    today, now = clock.today(), clock.now()  # read after the lock (protocol)
    if ent.status != "active":
        raise Conflict("This plan is not active", code="plan_not_active")
    quota = quota_on(ent.quota_schedule, today)
    taken, shortfall = daybook.day_rows(session, [plan_id], today).get(plan_id, (0, 0))
    asked = take_size(quota, taken, requested)
    delivered: list[dict[str, Any]] = []
    if asked > 0:
        rows = session.execute(_TAKE_SQL, {
            "country": ent.country, "tier": ent.tier, "kind": ent.kind,
            "cutoff": stock_cutoff(now), "n": asked,
            "plan_id": plan_id, "user_id": ent.user_id, "network_id": ent.network_id,
            "day": today, "now": now, "now_iso": now.isoformat(),
            "headers": event_headers(ctx.trace)}).all()
        data = _rekey_rows(session, vault, rows, {r.id: ent.network_id for r in rows})
        # read your own writes: what the take returns is in the office when it answers
        office.file_sales(session, vault, now, owner_id=ent.user_id, network_id=ent.network_id,
                          plan_id=plan_id, plan_country=ent.country, delivered_at=now,
                          sales=[office.Sale(r.id, data[r.id], r.country, r.kind) for r in rows])
        meta = {"plan_id": plan_id, "delivered_at": now.isoformat()}
        delivered = [lead_view(r, data[r.id], meta) for r in rows]
    served = len(delivered)
    if asked > 0 or shortfall:
        new_shortfall = shortfall_after(quota, taken + served, shortfall, asked, served)
        daybook.save_days(session, today, {plan_id: (taken + served, new_shortfall)}, now)
        shortfall = new_shortfall
    in_take_transaction()
    ctx.wake_on_commit(served)  # set-based events
    return {"leads": delivered, "taken_today": taken + served, "quota_today": quota,
            "shortfall_today": shortfall}


def set_auto_delivery(ctx: Ctx, user_id: str, plan_id: Any, enabled: Any) -> dict[str, Any]:
    """The owner's choice, kept here: it wins over the snapshots' flag. Switched on, the
    plan's group is served at once."""
    if not isinstance(enabled, bool):
        raise Invalid("enabled must be a boolean", fields={"enabled": "must be a boolean"})
    t = entitlements
    row = ctx.session.execute(
        update(t).where(t.c.plan_id == str(plan_id)[:64], t.c.user_id == user_id)
        .values(auto_delivery_override=enabled, updated_at=clock.now())
        .returning(t.c.plan_id, t.c.user_id, t.c.country, t.c.tier, t.c.kind)).first()
    if row is None:
        raise NotFound("No such plan")
    ctx.emit("auto_delivery_changed", {"plan_id": row.plan_id, "user_id": row.user_id,
                                       "enabled": enabled})
    if enabled:
        ctx.emit("auto_delivery_due", {"country": row.country, "tier": row.tier,
                                       "kind": row.kind, "added": 0})
    return {"plan_id": row.plan_id, "auto_delivery": enabled}


# --- auto-delivery ------------------------------------------------------------------------------

def groups_with_need(session: Session, today: date) -> list[tuple[str, str, str]]:
    """Country x tier x kind groups holding an active auto-delivery plan still owed leads today
    (offices known to be closed are not served: their owner could not see the leads)."""
    rows = session.execute(text("""
        SELECT DISTINCT e.country, e.tier, e.kind FROM entitlements e
        LEFT JOIN plan_days d ON d.plan_id = e.plan_id AND d.day = :today
        LEFT JOIN offices o ON o.user_id = e.user_id
        LEFT JOIN member_permissions mp ON mp.user_id = e.user_id
        WHERE e.status = 'active' AND coalesce(e.auto_delivery_override, e.auto_delivery)
          AND o.active IS NOT FALSE AND mp.take_leads IS NOT FALSE
          AND coalesce((e.quota_schedule ->> CAST(:today AS text))::int, 0) > coalesce(d.taken, 0)
        ORDER BY 1, 2, 3"""), {"today": today})
    return [(r.country, r.tier, r.kind) for r in rows]


def no_jit(session: Session) -> None:
    """The slot expansion (unnest x generate_series) makes the planner expect millions of
    rows, so PostgreSQL would spend ~0.3 s JIT-compiling a statement that runs in 0.1 s."""
    session.execute(text("SET LOCAL jit = off"))


def group_key(country: str, tier: str, kind: str = DEFAULT_KIND) -> str:
    """A group's advisory-lock key; construction keeps the key groups had before kinds, so
    an instance of the previous release and this one still exclude each other."""
    return f"{country}:{tier}" if kind == DEFAULT_KIND else f"{country}:{tier}:{kind}"


def try_lock_group(session: Session, country: str, tier: str, kind: str = DEFAULT_KIND) -> bool:
    return bool(session.execute(
        text("SELECT pg_try_advisory_xact_lock(:cls, hashtext(:key))"),
        {"cls": GROUP_LOCK_CLASS, "key": group_key(country, tier, kind)}).scalar())


@dataclass
class GroupRun:
    country: str
    tier: str
    kind: str = DEFAULT_KIND
    plans: int = 0
    available: int = 0
    delivered: int = 0
    skipped: bool = False


def deliver_group(session: Session, country: str, tier: str,
                  context: Mapping[str, Any], kind: str = DEFAULT_KIND) -> GroupRun:
    """One fair auto-delivery run over one group, in the caller's transaction."""
    run = GroupRun(country, tier, kind)
    no_jit(session)
    if not try_lock_group(session, country, tier, kind):
        run.skipped = True
        return run
    plans = session.execute(text("""
        SELECT e.plan_id, e.user_id, e.network_id, e.quota_schedule, e.carry
        FROM entitlements e LEFT JOIN offices o ON o.user_id = e.user_id
        LEFT JOIN member_permissions mp ON mp.user_id = e.user_id
        WHERE e.country = :country AND e.tier = :tier AND e.kind = :kind
          AND e.status = 'active' AND coalesce(e.auto_delivery_override, e.auto_delivery)
          AND o.active IS NOT FALSE AND mp.take_leads IS NOT FALSE
        ORDER BY e.plan_id
        FOR UPDATE OF e SKIP LOCKED"""), {"country": country, "tier": tier, "kind": kind}).all()
    today, now = clock.today(), clock.now()  # read after the locks (protocol)
    days = daybook.day_rows(session, [p.plan_id for p in plans], today)
    needs: dict[str, PlanNeed] = {}
    info: dict[str, Any] = {}
    for p in plans:
        quota = quota_on(p.quota_schedule, today)
        taken, _ = days.get(p.plan_id, (0, 0))
        if quota > taken:
            needs[p.plan_id] = PlanNeed(quota, quota - taken)
            info[p.plan_id] = p
    run.plans = len(needs)
    if not needs:
        return run
    cutoff = stock_cutoff(now)
    run.available = session.execute(text(
        "SELECT count(*) FROM stock WHERE country = :c AND tier = :t AND kind = :k"
        " AND captured_at >= :cutoff"),
        {"c": country, "t": tier, "k": kind, "cutoff": cutoff}).scalar_one()
    alloc = allocate(run.available, needs, {pid: info[pid].carry for pid in needs})
    counts = {pid: n for pid, n in alloc.counts.items() if n > 0}
    served: dict[str, int] = {}
    if counts:
        order = sorted(counts)
        served = {r.plan_id: r.n for r in session.execute(_RUN_SQL, {
            "plan_ids": order, "user_ids": [info[p].user_id for p in order],
            "network_ids": [info[p].network_id for p in order],
            "counts": [counts[p] for p in order], "total": sum(counts.values()),
            "country": country, "tier": tier, "kind": kind, "cutoff": cutoff, "day": today,
            "now": now,
            "now_iso": now.isoformat(), "headers": event_headers(context)})}
    run.delivered = sum(served.values())
    totals = {}
    carries: dict[str, float] = {}
    for pid, need in needs.items():
        taken, shortfall = days.get(pid, (0, 0))
        got = served.get(pid, 0)
        totals[pid] = (taken + got, shortfall_after(need.quota_today, taken + got, shortfall,
                                                    need.remaining_today, got))
        # a slot left empty by a concurrent take is still owed: keep it in the carry
        carry = alloc.carry.get(pid, 0.0) + alloc.counts.get(pid, 0) - got
        carries[pid] = max(-CARRY_LIMIT, min(CARRY_LIMIT, carry))
    daybook.save_days(session, today, totals, now)
    ids = sorted(carries)
    session.execute(_SAVE_CARRY, {"plan_ids": ids, "carry": [carries[p] for p in ids]})
    return run


def run_auto_delivery(ctx: Ctx, country: str | None = None,
                      tier: str | None = None, kind: str | None = None) -> dict[str, Any]:
    """One fair run over every group with need (or one group: ``kind`` absent is
    construction), each group in its own transaction."""
    started = clock.now()
    if country and tier:
        groups = [(country.upper(), tier, parse_kind(kind))]
    else:
        with ctx.separate() as session:
            groups = groups_with_need(session, clock.today())
    runs = []
    for c, t, k in groups:
        with ctx.separate() as session:  # one group, one transaction
            runs.append(deliver_group(session, c, t, ctx.correlation(), k))
    ctx.wake(sum(r.delivered for r in runs))
    return {"groups": len(groups), "skipped": sum(r.skipped for r in runs),
            "delivered": sum(r.delivered for r in runs),
            "seconds": (clock.now() - started).total_seconds(),
            "runs": [vars(r) for r in runs]}


def member_permissions_changed(ctx: Ctx, payload: Mapping[str, Any]) -> None:
    """A member's level changed (issue 13 4): without ``take_leads`` the runs skip their
    plans (the plan picks below); given it back, their groups are served at once rather than
    at the next timer run."""
    user_id = str(payload["user_id"])
    allowed = TAKE_LEADS in (payload.get("permissions") or ())
    as_of = datetime.fromisoformat(str(payload["as_of"]))
    if record_take_permission(ctx.session, user_id, allowed, as_of) and allowed:
        for country, tier, kind in auto_delivery_groups_of(ctx.session, user_id):
            ctx.emit("auto_delivery_due", {"country": country, "tier": tier, "kind": kind,
                                           "added": 0})


def deliver_due(ctx: Ctx, payload: Mapping[str, Any]) -> None:
    """Stock arrived (or a plan switched auto-delivery on): serve that group now, in the
    handler's transaction (an event without a kind, from before kinds: construction)."""
    run = deliver_group(ctx.session, payload["country"], payload["tier"], ctx.correlation(),
                        kind_of(payload))
    ctx.wake_on_commit(run.delivered)


def rekey_all(ctx: Ctx) -> dict[str, Any]:
    """Move auto-delivered leads to their buyer's key, a batch per transaction, until none
    is left (instances share the work through SKIP LOCKED)."""
    batch, total = TUNABLES.get_int("REKEY_BATCH"), 0
    while True:
        with ctx.separate() as session:
            done = rekey_pending(session, ctx.vault_of(session), batch, clock.now())
        total += done
        if done < batch:
            return {"rekeyed": total}
        eventlet.sleep(0)


def plan_today(ctx: Ctx, plan_id: Any) -> dict[str, Any]:
    """Live ``{plan_id, date, taken, shortfall}`` of today (plans asks before a tier change
    or an extension): for services, staff and the plan's owner (another's is NotFound).

    Read like a take reads them: after waiting for the plan's row (a take in flight is
    counted), then the date."""
    principal, plan_id, session = require(ctx.principal), str(plan_id)[:64], ctx.session
    if principal.role not in INTERNAL_ROLES:
        _owned_plan(session, plan_id, principal.user_id)
    session.execute(select(entitlements.c.plan_id).where(entitlements.c.plan_id == plan_id)
                    .with_for_update(read=True)).first()
    today = clock.today()
    taken, shortfall = daybook.day_rows(session, [plan_id], today).get(plan_id, (0, 0))
    return {"plan_id": plan_id, "date": today.isoformat(), "taken": taken,
            "shortfall": shortfall}
