"""The second login step (issue 14 §1): the challenge the password step answered and a
code, TOTP or recovery, for the usual token answer. Wrong codes count in the login
throttle exactly like wrong passwords (``auth.throttle``)."""
from __future__ import annotations

from typing import Any

from accounts.domain.accounts import login_refusal
from accounts.usecases import auth, second_factor
from accounts.usecases.context import Ctx
from accounts.usecases.users import get_row, profile
from suivi_common import clock
from suivi_common.errors import Unauthorized

WRONG_CODE = "Wrong code"


def _invalid_challenge() -> Unauthorized:
    return Unauthorized("This login step has expired or was already used; log in again",
                        code="mfa_challenge_invalid")


def login_mfa(ctx: Ctx, challenge: object, code: object, ip: object,
              user_agent: object = None) -> dict[str, Any]:
    now = clock.now()
    found = second_factor.take_challenge(ctx, challenge, now)
    if found is None:
        raise _invalid_challenge()
    user = get_row(ctx, found.user_id)
    assert user is not None
    keys = auth.throttle(ctx, profile(ctx, user).email, ip, now)
    # under the account's lock: a parallel step with the same challenge or code waits,
    # then finds the challenge spent or the code's time step used
    if second_factor.take_challenge(ctx, challenge, now, lock=True) is None:
        raise _invalid_challenge()
    user = get_row(ctx, found.user_id, for_update=True)
    if user is None or login_refusal(user.status):  # suspended or closed in between
        raise _invalid_challenge()
    if not second_factor.check_code(ctx, user, code, now):
        auth._refuse(ctx, keys, now, WRONG_CODE, "mfa_code_invalid")
    second_factor.spend_challenge(ctx, found.id)
    return auth.open_session(ctx, user, keys, now, ip, user_agent)
