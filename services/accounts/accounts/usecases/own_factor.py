"""A user removing their own second factor, or replacing their recovery codes (issue 14
§1), with what the account can prove at that moment.

* Removing needs the current password and a code of the factor (TOTP or a recovery code),
  the re-authentication staff give for a reset (``factor_reset.reauthenticate``, under the
  login throttle): a stolen session alone cannot take the factor off. Staff and compliance
  accounts must hold a factor (``domain.totp.factor_required``) and have only this one, so
  they are refused: a lost one is reset by another staff member.
* New recovery codes need a code of the factor, under the same throttle; the 10 new codes
  are shown once and every earlier one is void (a user who fears their printed codes were
  seen replaces them without re-enrolling).

Both are audited like the enrolment (``second_factor_removed``,
``recovery_codes_regenerated``: ids, role and dates only).
"""
from __future__ import annotations

from typing import Any

from accounts.domain import totp
from accounts.usecases import auth, factor_reset, second_factor
from accounts.usecases.context import Ctx
from accounts.usecases.users import actor, get_row, iso, profile
from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden

NOT_ENROLLED = "You have no active second factor"


def remove_own_factor(ctx: Ctx, current_password: object, code: object,
                      ip: object) -> dict[str, Any]:
    me = actor(ctx)
    if totp.factor_required(me.role):
        raise Conflict("A staff or compliance account must keep its second factor; another "
                       "staff member resets a lost one", code="mfa_required_for_role")
    if not second_factor.has_active_factor(ctx, me.id):
        raise Conflict(NOT_ENROLLED, code="mfa_not_enrolled")
    now = clock.now()
    factor_reset.reauthenticate(ctx, me, current_password, code, ip, now)
    second_factor.remove_all(ctx, me.id)
    ctx.emit("second_factor_removed", {"user_id": str(me.id), "role": me.role,
                                       "kind": "totp", "removed_at": iso(now)})
    return {"active": False, "removed_at": iso(now)}


def regenerate_recovery_codes(ctx: Ctx, code: object, ip: object) -> dict[str, Any]:
    me = actor(ctx)
    if not second_factor.has_active_factor(ctx, me.id):
        raise Conflict(NOT_ENROLLED, code="mfa_not_enrolled")
    now = clock.now()
    keys = auth.throttle(ctx, profile(ctx, me).email, ip, now)
    me = get_row(ctx, me.id, for_update=True) or me
    if not second_factor.check_code(ctx, me, code, now):
        auth.count_failure(ctx, keys, now)
        raise Forbidden("Wrong or missing code of your second factor", code="mfa_code_invalid")
    auth.clear_failures(ctx, keys)
    codes = second_factor.issue_recovery_codes(ctx, me.id)
    ctx.emit("recovery_codes_regenerated", {"user_id": str(me.id), "role": me.role,
                                            "regenerated_at": iso(now), "count": len(codes)})
    return {"recovery_codes": codes, "generated_at": iso(now)}
