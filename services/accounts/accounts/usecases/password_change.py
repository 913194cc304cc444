"""Changing one's password while logged in (terms art. 7: the user keeps their
credentials safe).

The current password is asked again, under the login throttle (``auth.throttle``:
the same counters, so a stolen session cannot guess the password faster than a login
could, and failures here count against logins too). The new password follows the policy of
registration and reset (``domain.passwords``). Every other session of the user is revoked
(a thief's among them); the caller's session, told by its token, stays valid.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import update
from sqlalchemy.engine import Row

from accounts.adapters import password_hasher
from accounts.domain import passwords
from accounts.models import users
from accounts.usecases import auth
from accounts.usecases.context import Ctx
from accounts.usecases.sessions import revoke_other_sessions
from accounts.usecases.users import Profile, actor, get_row, profile
from suivi_common import clock
from suivi_common.errors import Forbidden, Invalid

WRONG_PASSWORD = "The current password is wrong"


class CurrentPassword(NamedTuple):
    """A current password found right: the caller's row (locked), their throttle
    counters (to clear once the whole request succeeds), the password and profile."""
    row: Row
    keys: auth.ThrottleKeys
    password: str
    profile: Profile


def check_current_password(ctx: Ctx, me: Row, current_password: object, ip: object,
                           now: datetime) -> CurrentPassword:
    """The caller's password asked again, the one check every re-authentication uses
    (password and email changes, staff resetting a factor, removing one's own factor):
    under the login throttle (``auth.throttle``, the login's counters), the caller's row
    locked so concurrent changes queue, an argon2 verification burnt when the account has
    no password (the answer takes as long). ``Forbidden`` with a failure counted when wrong;
    the counters are left for the caller to clear once its other checks pass."""
    prof = profile(ctx, me)
    keys = auth.throttle(ctx, prof.email, ip, now)
    me = get_row(ctx, me.id, for_update=True) or me  # a concurrent change waits for this one
    current = current_password if isinstance(current_password, str) else ""
    if not (current and me.password_hash
            and password_hasher.verify_password(me.password_hash, current)):
        if not me.password_hash:
            password_hasher.burn_verification(current)
        auth.count_failure(ctx, keys, now)
        raise Forbidden(WRONG_PASSWORD, code="current_password_wrong")
    return CurrentPassword(me, keys, current, prof)


def change_password(ctx: Ctx, current_password: object, new_password: object, token: object,
                    ip: object) -> dict[str, Any]:
    now = clock.now()
    me, keys, current, prof = check_current_password(ctx, actor(ctx), current_password, ip, now)
    problem = passwords.check(new_password, prof.email, (prof.first_name, prof.last_name))
    if problem is None and new_password == current:
        problem = "The new password must differ from the current one."
    if problem:
        raise Invalid(problem, fields={"new_password": problem}, code="password_rejected")
    assert isinstance(new_password, str)
    ctx.session.execute(update(users).where(users.c.id == me.id).values(
        password_hash=password_hasher.hash_password(new_password), password_changed_at=now))
    auth.clear_failures(ctx, keys)
    revoked = revoke_other_sessions(ctx, me.id, token, now)
    auth.password_changed(ctx, me, "change", now)
    return {"revoked_sessions": revoked}
