"""Staff reset a user's lost second factor (rules: ``domain.factor_reset``).

The acting staff member proves who they are again in the request itself: their password
and, when they hold a factor, a current code (TOTP or recovery), both under the login
throttle (``auth.throttle``, their own counters: a stolen staff session cannot guess
faster than a login could). Then, in one transaction: the user's factor, recovery codes
and pending challenges go, every session of the user ends, and ``second_factor_reset``
leaves through the outbox (the mailer tells the user, compliance audits it). A staff or
compliance account reset this way can then only enrol again (``second_factor``'s lock-out).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from accounts.domain import factor_reset as rules
from accounts.models import sessions
from accounts.usecases import auth, second_factor
from accounts.usecases.context import Ctx
from accounts.usecases.password_change import check_current_password
from accounts.usecases.users import actor, get_row, iso
from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, NotFound


def reauthenticate(ctx: Ctx, me: Any, current_password: object, code: object, ip: object,
                   now: datetime) -> None:
    """The caller's password (``password_change.check_current_password``, the one check)
    and, with a factor, a code, asked again: ``Forbidden`` and a failure counted when one
    is wrong; the counters cleared when both are right."""
    me, keys, _, _ = check_current_password(ctx, me, current_password, ip, now)
    if "code" in rules.proofs_needed(second_factor.has_active_factor(ctx, me.id)) \
            and not second_factor.check_code(ctx, me, code, now):
        auth.count_failure(ctx, keys, now)
        raise Forbidden("Wrong or missing code of your own second factor",
                        code="mfa_code_invalid")
    auth.clear_failures(ctx, keys)


def reset_second_factor(ctx: Ctx, user_id: object, current_password: object, code: object,
                        ip: object) -> dict[str, Any]:
    me = actor(ctx, "staff")
    # resets are rare: one at a time platform-wide, so two staff resetting each other
    # cannot lock their two rows in opposite orders
    ctx.lock("second-factor-reset")
    target = get_row(ctx, user_id, for_update=True)
    if target is None:
        raise NotFound("No such user")
    refused = rules.refusal(str(me.id), str(target.id), target.erased_at is not None,
                            second_factor.has_any_factor(ctx, target.id))
    if refused is not None:
        raise Conflict(refused.message, code=refused.code)
    now = clock.now()
    reauthenticate(ctx, me, current_password, code, ip, now)
    second_factor.remove_all(ctx, target.id)
    s = sessions.c
    live = ctx.session.execute(select(func.count()).select_from(sessions).where(
        s.user_id == target.id, s.revoked_at.is_(None))).scalar_one()
    ctx.session.execute(update(sessions).where(s.user_id == target.id, s.revoked_at.is_(None))
                        .values(revoked_at=now))
    ctx.emit("second_factor_reset", {
        "user_id": str(target.id), "role": target.role,
        "network_id": str(target.network_id) if target.network_id else None,
        "staff_id": str(me.id), "reset_at": iso(now), "revoked_sessions": int(live)})
    return {"user_id": str(target.id), "reset_at": iso(now), "revoked_sessions": int(live),
            "enrolment_required": second_factor.enrolment_required(ctx, target.id, target.role)}
