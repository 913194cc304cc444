"""Data-subject requests in accounts: the task handler, the person's accounts for the
other services, and what each kind does to an account. The rules, and why an erased
account keeps what it keeps, are in ``accounts.domain.subject_requests``.

Work on one request is serialised (an advisory lock on its id): a task and its retry, or
a task and plans asking who the person is, never interleave. The task's record and its
report are written in the handler's own transaction: the report leaves once the work is
committed, and a retry finds the record and reports it again instead of acting twice
(access and portability only read: they are read again, with their data).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult, Row

from accounts.adapters.compliance import ComplianceSubjects, SubjectSource
from accounts.domain import payments as payment_rules
from accounts.domain import subject_requests as rules
from accounts.domain.accounts import AccountStatus
from accounts.domain.subject_requests import Kind, Match, Subject, Task
from accounts.domain.subscriptions import EndReason
from accounts.models import (
    access_levels,
    login_failures,
    masked_invitations,
    networks,
    office_openings,
    password_tokens,
    payments,
    sessions,
    subject_requests,
    subscriptions,
    terms_acceptances,
    user_rectifications,
    users,
)
from accounts.usecases import payments as payment_uc
from accounts.usecases import second_factor, sites
from accounts.usecases import subscriptions as subscriptions_uc
from accounts.usecases.auth import account_key
from accounts.usecases.context import Ctx
from accounts.usecases.users import (
    email_index,
    encrypt,
    encrypt_address,
    find_by_email,
    iso,
    phone_index,
    profile,
    scope_of,
)
from suivi_common import clock, dsr
from suivi_common.dsr import Outcome
from suivi_common.errors import Invalid

__all__ = ["ComplianceSubjects", "erase_account", "on_task_requested",
           "purge_billing_identities", "subject_users"]


def _count(result: Any) -> int:
    return max(0, cast("CursorResult[Any]", result).rowcount or 0)


# --- the task -------------------------------------------------------------------------------

def on_task_requested(ctx: Ctx, subjects: SubjectSource, payload: object) -> None:
    """``compliance.dsr_task_requested``: accounts' own tasks only, once each."""
    def done(request_id: str) -> Outcome | None:
        record = _record(ctx, request_id)
        if record is None or record.done_at is None:
            return None
        return Outcome(bool(record.found), record.records_affected or 0)

    def act(task: Task, subject: Subject) -> Outcome:
        matched = _resolve(ctx, task.request_id, subject)
        if matched.ambiguous:
            return dsr.ambiguous()
        outcome = _ACTIONS[task.kind](ctx, task, _users(ctx, matched.user_ids), subject)
        if outcome.error is None:
            ctx.session.execute(update(subject_requests)
                                .where(subject_requests.c.request_id == task.request_id)
                                .values(kind=task.kind.value, done_at=clock.now(),
                                        found=outcome.found, records_affected=outcome.records))
        return outcome

    answer = dsr.run_once(payload, rules.SERVICE, done=done, subject=subjects.subject, act=act,
                          lock=lambda request_id: ctx.lock(f"dsr:{request_id}"))
    if answer is not None:
        ctx.emit(dsr.REPORT_EVENT, answer)


def subject_users(ctx: Ctx, request_id: object, email: object = None,
                  phone: object = None) -> dict[str, Any]:
    """For another service working on its task of the same request: the ids of the
    person's accounts (as first resolved for this request; ``ambiguous`` when a shared
    phone cannot tell them apart)."""
    if not isinstance(request_id, str) or not request_id.strip() \
            or len(request_id) > rules.MAX_REQUEST_ID:
        raise Invalid("request_id is required", fields={"request_id": "a request id"})
    ctx.lock(f"dsr:{request_id}")
    matched = _resolve(ctx, request_id, Subject(email if isinstance(email, str) and email else None,
                                                phone if isinstance(phone, str) and phone else None))
    return {"request_id": request_id, "user_ids": list(matched.user_ids),
            "ambiguous": matched.ambiguous}


def _record(ctx: Ctx, request_id: str) -> Row | None:
    return ctx.session.execute(select(subject_requests)
                               .where(subject_requests.c.request_id == request_id)).first()


def _resolve(ctx: Ctx, request_id: str, subject: Subject) -> Match:
    """Who the request is about, looked up once and kept (see the domain module)."""
    record = _record(ctx, request_id)
    if record is not None:
        return Match(tuple(record.user_ids), bool(record.ambiguous))
    email, phone = rules.email_key(subject.email), rules.phone_key(subject.phone)
    by_email = [str(i) for i in ctx.session.execute(select(users.c.id).where(
        users.c.email_index == email_index(ctx, email))).scalars()] if email else []
    by_phone = [str(i) for i in ctx.session.execute(select(users.c.id).where(
        users.c.phone_index == phone_index(ctx, phone))).scalars()] if phone else []
    matched = rules.match(by_email, by_phone, email_given=subject.email is not None)
    ctx.session.execute(pg_insert(subject_requests).values(
        request_id=request_id, user_ids=list(matched.user_ids), ambiguous=matched.ambiguous,
        resolved_at=clock.now()).on_conflict_do_nothing(index_elements=["request_id"]))
    return matched


def _users(ctx: Ctx, user_ids: Sequence[str]) -> list[Row]:
    if not user_ids:
        return []
    return list(ctx.session.execute(
        select(users).where(users.c.id.in_([uuid.UUID(i) for i in user_ids]))
        .order_by(users.c.created_at, users.c.id).with_for_update()))


# --- access and portability ------------------------------------------------------------------

def _access(ctx: Ctx, task: Task, rows: list[Row], subject: Subject) -> Outcome:
    exports = [export_account(ctx, row) for row in rows]
    data = {"service": rules.SERVICE, "kind": task.kind.value, "format_version": 1,
            "accounts": [document for document, _ in exports]}
    return Outcome(found=bool(rows), records=sum(n for _, n in exports), data=data)


def export_account(ctx: Ctx, row: Row) -> tuple[dict[str, Any], int]:
    """Everything accounts holds about one account, decrypted, and how many records."""
    scope = scope_of(row.network_id)
    p = profile(ctx, row)
    network = ctx.session.execute(select(networks.c.name).where(
        networks.c.id == row.network_id)).scalar() if row.network_id else None
    level = ctx.session.execute(select(access_levels.c.name).where(
        access_levels.c.id == row.access_level_id)).scalar() if row.access_level_id else None
    acceptances = [{"version": a.version, "accepted_at": iso(a.accepted_at),
                    "ip": ctx.vault.decrypt(scope, "terms_acceptances", "ip", a.id, a.ip)}
                   for a in ctx.session.execute(select(terms_acceptances).where(
                       terms_acceptances.c.user_id == row.id)
                       .order_by(terms_acceptances.c.accepted_at))]
    subs = [{"id": str(s.id), "period": s.period, "status": s.status,
             "amount_cents": s.amount_cents, "starts_on": iso(s.starts_on),
             "ends_on": iso(s.ends_on), "created_at": iso(s.created_at),
             "activated_at": iso(s.activated_at), "ended_at": iso(s.ended_at),
             "end_reason": s.end_reason, "reminded_at": iso(s.reminded_at)}
            for s in ctx.session.execute(select(subscriptions).where(
                subscriptions.c.user_id == row.id).order_by(subscriptions.c.created_at))]
    paid = [{k: v for k, v in payment_uc.payment_dict(r).items() if k != "redirect_url"}
            for r in ctx.session.execute(select(payments).where(
                payments.c.user_id == row.id).order_by(payments.c.created_at))]
    logins = [{"created_at": iso(s.created_at), "last_used_at": iso(s.last_used_at),
               "expires_at": iso(s.expires_at), "revoked_at": iso(s.revoked_at),
               "ip": ctx.vault.decrypt(scope, "sessions", "ip", s.id, s.ip),
               "user_agent": ctx.vault.decrypt(scope, "sessions", "user_agent", s.id,
                                               s.user_agent)}
              for s in ctx.session.execute(select(sessions).where(
                  sessions.c.user_id == row.id).order_by(sessions.c.created_at))]
    history = [{"request_id": r.request_id, "field": r.field, "rectified_at": iso(r.rectified_at),
                "previous": ctx.vault.decrypt(scope, "user_rectifications", "previous", r.id,
                                              r.previous)}
               for r in ctx.session.execute(select(user_rectifications).where(
                   user_rectifications.c.user_id == row.id)
                   .order_by(user_rectifications.c.rectified_at))]
    looks = [{"admin_id": str(o.admin_id), "opened_at": iso(o.opened_at)}
             for o in ctx.session.execute(select(office_openings).where(
                 office_openings.c.member_id == row.id))]
    site, site_records = sites.export_of_user(ctx, row.id, row.slug)
    document = {
        "account": {"id": str(row.id), "role": row.role, "status": row.status,
                    "network": {"id": str(row.network_id), "name": network}
                    if row.network_id else None,
                    "access_level": level, "admin_access": row.admin_access,
                    "created_at": iso(row.created_at), "invited_at": iso(row.invited_at),
                    "contract_concluded_at": iso(row.contract_concluded_at),
                    "last_login_at": iso(row.last_login_at),
                    "password_changed_at": iso(row.password_changed_at),
                    "status_changed_at": iso(row.status_changed_at),
                    "processing_restricted_at": iso(row.restricted_at),
                    "objected_at": iso(row.objected_at), "erased_at": iso(row.erased_at),
                    "billing_retained_until": iso(row.billing_retained_until)},
        "profile": {"email": p.email or None, "first_name": p.first_name,
                    "last_name": p.last_name, "phone": p.phone, "address": p.address},
        "terms_acceptances": acceptances, "subscriptions": subs, "payments": paid,
        "sessions": logins, "rectifications": history, "admin_office_openings": looks,
        "site": site,
    }
    records = 1 + site_records + sum(len(x) for x in (acceptances, subs, paid, logins,
                                                       history, looks))
    return document, records


# --- rectification ------------------------------------------------------------------------------

def _rectify(ctx: Ctx, task: Task, rows: list[Row], subject: Subject) -> Outcome:
    if not subject.changes:
        return Outcome(found=bool(rows), error="rectification without changes")
    todo = []
    for row in rows:
        if row.erased_at is not None:
            continue
        p = profile(ctx, row)
        current = {"first_name": p.first_name, "last_name": p.last_name, "email": p.email,
                   "phone": p.phone, "address": p.address}
        plan = rules.plan_rectification(subject.changes, current)
        if plan.problems:
            return Outcome(found=True, error="invalid_changes: " + ", ".join(
                f"{k} ({v})" for k, v in sorted(plan.problems.items())))
        new_email = plan.columns.get("email")
        if new_email is not None:
            holder = find_by_email(ctx, new_email)
            if holder is not None and holder.id != row.id:
                return Outcome(found=True, error="email_taken: another account holds the "
                                                 "new email")
        todo.append((row, current, plan))
    now, changed = clock.now(), 0
    summary: dict[str, list[str]] = {"rectified": [], "unchanged": [], "not_held": []}
    for row, current, plan in todo:
        _apply_rectification(ctx, task.request_id, row, current, plan, now)
        changed += 1 if plan.changes_anything else 0
        summary["rectified"] += plan.fields
        summary["unchanged"] += plan.unchanged
        summary["not_held"] += plan.not_held
    return Outcome(found=bool(rows), records=changed,
                   data={k: sorted(set(v)) for k, v in summary.items()} if rows else None)


def _apply_rectification(ctx: Ctx, request_id: str, row: Row, current: dict[str, Any],
                         plan: rules.Rectification, now: datetime) -> None:
    values: dict[str, Any] = {}
    previous: dict[str, str | None] = {}
    for name, value in plan.columns.items():
        values[name] = encrypt(ctx, row.network_id, row.id, name, value)
        previous[name] = current.get(name)
    if "email" in plan.columns:
        values["email_index"] = email_index(ctx, str(plan.columns["email"]))
    if "phone" in plan.columns:
        values["phone_index"] = phone_index(ctx, plan.columns["phone"])
    if plan.address is not None:
        values["address"] = encrypt_address(ctx, row.network_id, row.id, plan.address)
        old = current.get("address") or {}
        for name in ("postal_code", "city"):
            if name in plan.fields:
                previous[name] = old.get(name)
    if not values:
        return
    ctx.session.execute(update(users).where(users.c.id == row.id).values(**values))
    scope = scope_of(row.network_id)
    for name, old_value in previous.items():
        entry = uuid.uuid4()
        ctx.session.execute(user_rectifications.insert().values(
            id=entry, user_id=row.id, request_id=request_id, field=name, rectified_at=now,
            previous=ctx.vault.encrypt(scope, "user_rectifications", "previous", entry,
                                       old_value)))


# --- restriction and objection -----------------------------------------------------------------

def _restrict(ctx: Ctx, task: Task, rows: list[Row], subject: Subject) -> Outcome:
    ids = [r.id for r in rows if r.restricted_at is None and r.erased_at is None]
    if ids:
        ctx.session.execute(update(users).where(users.c.id.in_(ids))
                            .values(restricted_at=clock.now()))
    return Outcome(found=bool(rows), records=len(ids))


def _object(ctx: Ctx, task: Task, rows: list[Row], subject: Subject) -> Outcome:
    changed = 0
    for row in rows:
        if row.erased_at is not None or (row.objected_at is not None and not row.admin_access):
            continue
        ctx.session.execute(update(users).where(users.c.id == row.id).values(
            objected_at=row.objected_at or clock.now(), admin_access=False))
        if row.admin_access and row.network_id is not None:
            ctx.emit("user_privacy_changed", {"user_id": str(row.id),
                                              "network_id": str(row.network_id),
                                              "admin_access": False})
        changed += 1
    return Outcome(found=bool(rows), records=changed)


# --- erasure -------------------------------------------------------------------------------------

def _erase(ctx: Ctx, task: Task, rows: list[Row], subject: Subject) -> Outcome:
    now = clock.now()
    records = sum(erase_account(ctx, row, now) for row in rows if row.erased_at is None)
    return Outcome(found=bool(rows), records=records)


def _last_paid_on(ctx: Ctx, user_id: uuid.UUID) -> Any:
    """The day of the user's last payment that took money (validated, or charged on an
    order cancelled meanwhile and so refunded), or None."""
    p = payments.c
    last = ctx.session.execute(select(func.max(func.coalesce(p.validated_at, p.refund_due_at,
                                                              p.created_at))).where(
        p.user_id == user_id,
        or_(p.status == payment_rules.Status.VALIDATED.value,
            p.provider_outcome == payment_rules.ProviderOutcome.SUCCEEDED.value,
            p.refund_status.is_not(None)))).scalar()
    return last.astimezone(clock.PARIS).date() if last is not None else None


def erase_account(ctx: Ctx, row: Row, now: datetime,
                  reason: str = rules.ERASED_ON_REQUEST) -> int:
    """Erase one account (see the domain module); returns the records it changed.
    ``reason`` says why in ``user_erased`` (a request, or the retention sweep's term)."""
    p = profile(ctx, row)
    s = subscriptions.c
    open_subs = ctx.session.execute(select(func.count()).select_from(subscriptions).where(
        s.user_id == row.id, s.status.in_(("active", "pending_payment")))).scalar_one()
    subscriptions_uc.end_all_of_user(ctx, row.id, EndReason.ERASED, now)
    records = 1 + int(open_subs)
    records += _count(ctx.session.execute(delete(sessions).where(sessions.c.user_id == row.id)))
    records += _count(ctx.session.execute(delete(password_tokens).where(
        password_tokens.c.user_id == row.id)))
    records += second_factor.erase_of_user(ctx, row.id)
    if row.email_index is not None:  # other networks' invitations of the address
        records += _count(ctx.session.execute(delete(masked_invitations).where(
            masked_invitations.c.email_index == row.email_index)))
    records += sites.erase_of_user(ctx, row.id)
    if p.email:
        records += _count(ctx.session.execute(delete(login_failures).where(
            login_failures.c.key == account_key(ctx, p.email))))
    records += _count(ctx.session.execute(update(terms_acceptances).where(
        terms_acceptances.c.user_id == row.id, terms_acceptances.c.ip.is_not(None))
        .values(ip=None)))
    records += _count(ctx.session.execute(delete(user_rectifications).where(
        user_rectifications.c.user_id == row.id)))
    records += _count(ctx.session.execute(delete(office_openings).where(
        or_(office_openings.c.member_id == row.id, office_openings.c.admin_id == row.id))))
    kept_until = rules.billing_retained_until(_last_paid_on(ctx, row.id))
    values: dict[str, Any] = {
        "email": None, "email_index": None, "phone": None, "phone_index": None,
        "password_hash": None, "admin_access": False, "access_level_id": None,
        "erased_at": now, "billing_retained_until": kept_until,
        "slug": None}  # the sites' address carries the name
    if kept_until is None:
        values.update(first_name=None, last_name=None, address=None)
    if row.status not in (AccountStatus.CLOSED.value, AccountStatus.TERMINATED.value):
        values.update(status=AccountStatus.TERMINATED.value, status_changed_at=now)
    ctx.session.execute(update(users).where(users.c.id == row.id).values(**values))
    ctx.emit("user_erased", {"user_id": str(row.id),
                             "network_id": str(row.network_id) if row.network_id else None,
                             "erased_at": now.isoformat(), "reason": reason})
    return records


def purge_billing_identities(ctx: Ctx) -> int:
    """Erase the names and postal addresses kept for the invoices of erased accounts once
    their ten years are over (timer; idempotent)."""
    return _count(ctx.session.execute(update(users).where(
        users.c.erased_at.is_not(None), users.c.billing_retained_until < clock.today())
        .values(first_name=None, last_name=None, address=None, billing_retained_until=None)))


_ACTIONS: dict[Kind, Callable[[Ctx, Task, list[Row], Subject], Outcome]] = {
    Kind.ACCESS: _access,
    Kind.PORTABILITY: _access,
    Kind.RECTIFICATION: _rectify,
    Kind.RESTRICTION: _restrict,
    Kind.OBJECTION: _object,
    Kind.ERASURE: _erase,
}

