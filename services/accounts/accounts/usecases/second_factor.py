"""The second factor (issue 14 §1): enrolling a TOTP factor, its recovery codes, the
login challenge between the password and the code, and who must have one.

The rules are ``domain.totp``; this module stores them. The secret is encrypted under the
user's scope (``vault``), recovery codes and challenges are kept only as keyed hashes.
The second login step itself is ``usecases.mfa_login`` (it needs the login throttle)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import segno
from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult

from accounts import settings as accounts_settings
from accounts.domain import sessions as tokens
from accounts.domain import totp
from accounts.domain.profile import ProfileError, normalise_email
from accounts.models import mfa_challenges, mfa_factors, mfa_recovery_codes, users
from accounts.usecases.context import Ctx
from accounts.usecases.users import email_index, get_row, iso, profile, scope_of
from suivi_common import clock
from suivi_common.auth import require
from suivi_common.crypto import PLATFORM_SCOPE
from suivi_common.errors import Conflict, Invalid, NotFound
from suivi_common.settings import setting

#: who can hold a factor (not a service)
HUMAN_ROLES = ("user", "admin", "staff", "compliance")


def _env() -> str:
    return str(setting("SUIVI_ENV", "") or "").strip().lower()


def _bootstrap_email() -> str | None:
    credentials = accounts_settings.bootstrap_staff()
    if credentials is None:
        return None
    try:
        return normalise_email(credentials[0])
    except ProfileError:
        return None


def _has_active_factor(ctx: Ctx, user_id: uuid.UUID) -> bool:
    f = mfa_factors.c
    return bool(ctx.session.execute(select(exists().where(
        f.user_id == user_id, f.confirmed_at.is_not(None)))).scalar())


def enrolment_required(ctx: Ctx, user_id: Any, role: str) -> bool:
    """Whether this account may only enrol a factor (``authenticate``, per request: the
    look-up runs for staff and compliance accounts only)."""
    if not totp.factor_required(role):
        return False
    uid = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    if _has_active_factor(ctx, uid):
        return False
    bootstrap = _bootstrap_email()
    exempt = False
    if _env() == "dev" and bootstrap:
        row = ctx.session.execute(select(users.c.email_index).where(users.c.id == uid)).first()
        exempt = row is not None and row.email_index == email_index(ctx, bootstrap)
    return totp.enrolment_required(role, False, exempt)


def login_notes(ctx: Ctx, user_id: uuid.UUID, role: str, email: str) -> dict[str, Any]:
    """What a password-only login answer adds: the dev exemption, or that the account
    must enrol before anything else."""
    if not totp.factor_required(role):
        return {}
    exempt = totp.exemption(role, _env(), email, _bootstrap_email())
    if exempt:
        return {"mfa_exempt": exempt}
    return {"mfa_enrolment_required": True}


def challenge_if_enrolled(ctx: Ctx, user_id: uuid.UUID, now: datetime) -> dict[str, Any] | None:
    """The password was right and the account has an active factor: a short-lived,
    single-use challenge for the second step instead of a token (its hash is stored)."""
    if not _has_active_factor(ctx, user_id):
        return None
    c = mfa_challenges.c
    # the user's expired challenges go as a new one comes
    ctx.session.execute(delete(mfa_challenges).where(c.user_id == user_id, c.expires_at <= now))
    challenge = tokens.new_token()
    expires_at = now + totp.CHALLENGE_TTL
    ctx.session.execute(insert(mfa_challenges).values(
        id=uuid.uuid4(), user_id=user_id, challenge_hash=tokens.token_hash(challenge),
        expires_at=expires_at))
    return {"mfa_required": True, "challenge": challenge, "expires_at": iso(expires_at)}


def take_challenge(ctx: Ctx, challenge: object, now: datetime, lock: bool = False) -> Any:
    """The unexpired challenge row ``challenge`` names, or None."""
    if not isinstance(challenge, str) or not challenge or len(challenge) > 200:
        return None
    c = mfa_challenges.c
    query = select(mfa_challenges).where(c.challenge_hash == tokens.token_hash(challenge),
                                         c.expires_at > now)
    if lock:
        query = query.with_for_update()
    return ctx.session.execute(query).first()


def purge_expired_challenges(ctx: Ctx, now: datetime) -> int:
    """Challenges past their minutes count for nothing: an abandoned second step (a user
    who never comes back) leaves no row behind (the timer of ``auth.purge_old_failures``)."""
    result = ctx.session.execute(delete(mfa_challenges).where(mfa_challenges.c.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def spend_challenge(ctx: Ctx, challenge_id: uuid.UUID) -> None:
    ctx.session.execute(delete(mfa_challenges).where(mfa_challenges.c.id == challenge_id))


def _secret(ctx: Ctx, user: Any, blob: bytes) -> str:
    secret = ctx.vault.decrypt(scope_of(user.network_id), "mfa_factors", "secret", user.id, blob)
    assert secret is not None
    return secret


def _recovery_hash(ctx: Ctx, user_id: uuid.UUID, code: str) -> bytes:
    return ctx.vault.blind_index(PLATFORM_SCOPE, "mfa-recovery-code", f"{user_id}\n{code}")


def check_code(ctx: Ctx, user: Any, code: object, now: datetime) -> bool:
    """Whether ``code`` is the user's current TOTP code, never used before, or one of
    their unused recovery codes; it is spent if so. Callers hold the account's lock."""
    f = mfa_factors.c
    factor = ctx.session.execute(select(mfa_factors).where(
        f.user_id == user.id, f.confirmed_at.is_not(None)).with_for_update()).first()
    if factor is None:
        return False
    step = totp.matching_step(_secret(ctx, user, factor.secret), code, now, factor.last_used_step)
    if step is not None:
        ctx.session.execute(update(mfa_factors).where(f.user_id == user.id)
                            .values(last_used_step=step))
        return True
    recovery = totp.normalise_recovery_code(code)
    if recovery is None:
        return False
    r = mfa_recovery_codes.c
    spent = ctx.session.execute(update(mfa_recovery_codes).where(
        r.user_id == user.id, r.code_hash == _recovery_hash(ctx, user.id, recovery),
        r.used_at.is_(None)).values(used_at=now).returning(r.id)).first()
    if spent is None:
        return False
    remaining = ctx.session.execute(select(func.count()).select_from(mfa_recovery_codes).where(
        r.user_id == user.id, r.used_at.is_(None))).scalar_one()
    # audited (a recovery code in use often means a lost phone, or a stolen code)
    ctx.emit("recovery_code_used", {"user_id": str(user.id), "role": user.role,
                                    "used_at": iso(now), "remaining": int(remaining)})
    return True


def has_active_factor(ctx: Ctx, user_id: uuid.UUID) -> bool:
    return _has_active_factor(ctx, user_id)


def has_any_factor(ctx: Ctx, user_id: uuid.UUID) -> bool:
    """An active factor or an enrolment in progress."""
    return bool(ctx.session.execute(select(exists().where(
        mfa_factors.c.user_id == user_id))).scalar())


# --- enrolment (the caller's own account) -------------------------------------------------
def start_enrolment(ctx: Ctx) -> dict[str, Any]:
    """A new secret, pending until a code of it is confirmed; starting again replaces a
    pending one. Refused while a factor is active."""
    principal = require(ctx.principal, *HUMAN_ROLES)
    user = get_row(ctx, principal.user_id, for_update=True)
    if user is None:
        raise NotFound("Account not found")
    if _has_active_factor(ctx, user.id):
        raise Conflict("A second factor is already active", code="mfa_already_enrolled")
    now = clock.now()
    secret = totp.new_secret()
    blob = ctx.vault.encrypt(scope_of(user.network_id), "mfa_factors", "secret", user.id, secret)
    ctx.session.execute(pg_insert(mfa_factors).values(
        user_id=user.id, secret=blob, created_at=now, confirmed_at=None, last_used_step=None)
        .on_conflict_do_update(index_elements=[mfa_factors.c.user_id],
                               set_={"secret": blob, "created_at": now}))
    uri = totp.provisioning_uri(secret, profile(ctx, user).email or str(user.id))
    return {"secret": secret, "otpauth_uri": uri,
            "qr_svg": segno.make(uri, error="m").svg_inline(scale=4)}


def confirm_enrolment(ctx: Ctx, code: object) -> dict[str, Any]:
    """A code of the pending secret activates the factor and answers the recovery codes,
    shown this once (only their hashes are kept; earlier ones are void)."""
    principal = require(ctx.principal, *HUMAN_ROLES)
    user = get_row(ctx, principal.user_id, for_update=True)
    if user is None:
        raise NotFound("Account not found")
    f = mfa_factors.c
    factor = ctx.session.execute(select(mfa_factors).where(f.user_id == user.id)
                                 .with_for_update()).first()
    if factor is None or factor.confirmed_at is not None:
        raise Conflict("No second factor enrolment is in progress", code="mfa_not_pending")
    now = clock.now()
    step = totp.matching_step(_secret(ctx, user, factor.secret), code, now, None)
    if step is None:
        raise Invalid("Wrong code", fields={"code": "not the current code"}, code="mfa_code_invalid")
    ctx.session.execute(update(mfa_factors).where(f.user_id == user.id)
                        .values(confirmed_at=now, last_used_step=step))
    codes = issue_recovery_codes(ctx, user.id)
    ctx.emit("second_factor_enrolled", {"user_id": str(user.id), "role": user.role,
                                        "kind": "totp", "enrolled_at": iso(now)})
    return {"active": True, "confirmed_at": iso(now), "recovery_codes": codes}


def issue_recovery_codes(ctx: Ctx, user_id: uuid.UUID) -> list[str]:
    """A new set of recovery codes, answered this once: only their hashes are kept, and
    every earlier code, used or not, is void."""
    codes = totp.new_recovery_codes()
    ctx.session.execute(delete(mfa_recovery_codes).where(mfa_recovery_codes.c.user_id == user_id))
    ctx.session.execute(insert(mfa_recovery_codes), [
        {"user_id": user_id, "code_hash": _recovery_hash(ctx, user_id, c)} for c in codes])
    return codes


def remove_all(ctx: Ctx, user_id: uuid.UUID) -> int:
    """The account's factor (active or pending), recovery codes and pending challenges;
    the rows gone (an erasure, a staff reset)."""
    gone = 0
    for table in (mfa_challenges, mfa_recovery_codes, mfa_factors):
        result = cast("CursorResult[Any]", ctx.session.execute(
            delete(table).where(table.c.user_id == user_id)))
        gone += max(0, result.rowcount or 0)
    return gone


def erase_of_user(ctx: Ctx, user_id: uuid.UUID) -> int:
    """An erased account's factor, recovery codes and pending challenges; the rows gone."""
    return remove_all(ctx, user_id)
