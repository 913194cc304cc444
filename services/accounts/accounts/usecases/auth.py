"""Logging in and out, session tokens, choosing a password (terms art. 2, 7)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import delete, exists, insert, select, update

from accounts.adapters import password_hasher
from accounts.domain import login_throttle, passwords, permissions
from accounts.domain import sessions as tokens
from accounts.domain.accounts import MEMBER_ROLES, AccountStatus, exempt_from_terms, login_refusal
from accounts.domain.profile import ProfileError, normalise_email
from accounts.models import login_failures, sessions, terms_acceptances, users
from accounts.usecases import password_tokens, second_factor, terms
from accounts.usecases import sessions as session_uc
from accounts.usecases.context import Ctx
from accounts.usecases.users import (
    find_by_email,
    get_row,
    iso,
    level_permissions,
    profile,
    revoke_sessions,
)
from suivi_common import clock
from suivi_common.crypto import PLATFORM_SCOPE
from suivi_common.database import autonomous
from suivi_common.errors import Forbidden, Invalid, RateLimited, Unauthorized

INVALID_CREDENTIALS = "Unknown email or wrong password"


def account_key(ctx: Ctx, email: str) -> str:
    """Key of an account's failure counter: a blind index of the email, so it is not
    stored in clear and unknown emails are counted exactly like known ones."""
    return "account:" + ctx.vault.blind_index(PLATFORM_SCOPE, "login-email", email).hex()


@dataclass(frozen=True)
class ThrottleKeys:
    """The failure counters of one attempt (``domain.login_throttle``): the account's, the
    client address's and the account's at that address. Blind indexes: neither the email
    nor the address (personal data too) is stored in clear."""

    account: str
    address: str
    here: str

    @property
    def all(self) -> tuple[str, str, str]:
        return self.account, self.address, self.here


def _throttle_keys(ctx: Ctx, email: str, ip: str) -> ThrottleKeys:
    def index(kind: str, value: str) -> str:
        return ctx.vault.blind_index(PLATFORM_SCOPE, kind, value).hex()

    return ThrottleKeys(account_key(ctx, email), "ip:" + index("login-ip", ip),
                        "here:" + index("login-account-at-ip", f"{email}\n{ip}"))


def _failures(ctx: Ctx, keys: ThrottleKeys, since: datetime) -> dict[str, list[datetime]]:
    f = login_failures.c
    found: dict[str, list[datetime]] = {key: [] for key in keys.all}
    for key, failed_at in ctx.session.execute(
            select(f.key, f.failed_at).where(f.key.in_(keys.all), f.failed_at > since)):
        found[key].append(failed_at)
    return found


def _refuse(ctx: Ctx, keys: ThrottleKeys, now: datetime, message: str = INVALID_CREDENTIALS,
            code: str = "invalid_credentials") -> NoReturn:
    """Count the failure in its own committed transaction (the worker's rolls back)."""
    with autonomous(ctx.engine) as session:
        session.execute(insert(login_failures), [{"key": k, "failed_at": now} for k in keys.all])
    raise Unauthorized(message, code=code)


def throttle(ctx: Ctx, email: str, ip: object, now: datetime) -> ThrottleKeys:
    """The attempt's counters, once it is allowed (``RateLimited`` otherwise). Attempts on
    one account are serialised (released when this transaction ends), so parallel guesses
    cannot slip past the counter. The second factor's codes count here too, and so does the
    current password asked again by a password or email change."""
    keys = _throttle_keys(ctx, email, str(ip or "unknown")[:64])
    ctx.lock(keys.account)
    settings = ctx.settings
    window_start = now - max(settings.account_limit.window, settings.ip_limit.window)
    failures = _failures(ctx, keys, window_start)
    decision = login_throttle.decide_attempt(
        failures[keys.address], failures[keys.account], failures[keys.here], now,
        settings.ip_limit, settings.account_limit)
    if not decision.allowed:
        raise RateLimited(f"Too many failed attempts; try again in {decision.retry_after} s",
                          retry_after=decision.retry_after)
    return keys


def count_failure(ctx: Ctx, keys: ThrottleKeys, now: datetime) -> None:
    """A failed attempt, counted in its own committed transaction (the worker's, which
    refuses the attempt, rolls back)."""
    with autonomous(ctx.engine) as session:
        session.execute(insert(login_failures), [{"key": k, "failed_at": now} for k in keys.all])


def clear_failures(ctx: Ctx, keys: ThrottleKeys) -> None:
    """A success clears the account's failures and this address's on it, never the
    address's own (one valid account must not unlock guessing on the others)."""
    ctx.session.execute(delete(login_failures).where(
        login_failures.c.key.in_((keys.account, keys.here))))


def login(ctx: Ctx, email: object, password: object, ip: object,
          user_agent: object = None) -> dict[str, Any]:
    now = clock.now()
    secret = password if isinstance(password, str) else ""
    try:
        address = normalise_email(email)
    except ProfileError:
        password_hasher.burn_verification(secret)
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials") from None
    keys = throttle(ctx, address, ip, now)
    user = find_by_email(ctx, address)
    if user is None or user.password_hash is None:
        password_hasher.burn_verification(secret)
        _refuse(ctx, keys, now)
    if not secret or not password_hasher.verify_password(user.password_hash, secret):
        _refuse(ctx, keys, now)
    refusal = login_refusal(user.status)
    if refusal:
        raise Forbidden("This account is suspended" if refusal == "account_suspended"
                        else "This account is closed", code=refusal)

    if password_hasher.needs_rehash(user.password_hash):
        ctx.session.execute(update(users).where(users.c.id == user.id).values(
            password_hash=password_hasher.hash_password(secret)))
    # an active second factor: no session before its code (``second_factor``); the
    # failures stay counted until then, so a known password does not reset the guessing
    challenge = second_factor.challenge_if_enrolled(ctx, user.id, now)
    if challenge is not None:
        return challenge
    return {**open_session(ctx, user, keys, now, ip, user_agent),
            **second_factor.login_notes(ctx, user.id, user.role, address)}


def open_session(ctx: Ctx, user: Any, keys: ThrottleKeys, now: datetime, ip: object = None,
                 user_agent: object = None) -> dict[str, Any]:
    """The credentials are proven: a new session (with the device it was opened from,
    ``usecases.sessions``) and its token answer."""
    clear_failures(ctx, keys)  # consecutive failures only
    changes: dict[str, Any] = {"last_login_at": now}
    if user.contract_concluded_at is None:
        changes["contract_concluded_at"] = now  # preamble: concluded at first login
    ctx.session.execute(update(users).where(users.c.id == user.id).values(**changes))

    token, expires_at = session_uc.open_session(ctx, user, now, ip, user_agent)
    return {"token": token, "expires_at": iso(expires_at),
            "user": {"id": str(user.id), "role": user.role,
                     "network_id": str(user.network_id) if user.network_id else None}}


def authenticate(ctx: Ctx, token: object) -> dict[str, Any]:
    if not isinstance(token, str) or not token or len(token) > 200:
        raise Unauthorized("Invalid session", code="token_invalid")
    now = clock.now()
    current = terms.current_version(ctx)
    accepted = exists().where(terms_acceptances.c.user_id == users.c.id,
                              terms_acceptances.c.version == current)
    row = ctx.session.execute(
        select(sessions, users.c.role, users.c.network_id, users.c.status,
               accepted.label("terms_accepted"), *level_permissions())
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == tokens.token_hash(token))).first()
    if row is None:
        raise Unauthorized("Invalid session", code="token_invalid")
    state = tokens.state(now, row.last_used_at, row.expires_at, row.revoked_at,
                         ctx.settings.session_policy)
    if state is tokens.SessionState.REVOKED or login_refusal(row.status):
        raise Unauthorized("This session was closed", code="token_revoked")
    if state is tokens.SessionState.EXPIRED:
        raise Unauthorized("This session has expired", code="token_expired")
    if tokens.needs_touch(now, row.last_used_at):
        ctx.session.execute(update(sessions).where(sessions.c.id == row.id)
                            .values(last_used_at=now))
    return {"user_id": str(row.user_id), "role": row.role,
            "network_id": str(row.network_id) if row.network_id else None,
            "session_id": str(row.id),
            "terms_accepted": bool(exempt_from_terms(row.role) or row.terms_accepted),
            # what the gateway signs into the request's principal (suivi_common.permissions)
            "permissions": (permissions.effective(row.role, row.own_level, row.default_level)
                            if row.role in MEMBER_ROLES else None),
            # a staff or compliance account without its factor may only enrol one
            "mfa_enrolment_required": second_factor.enrolment_required(ctx, row.user_id, row.role)}


def logout(ctx: Ctx, token: object) -> None:
    if not isinstance(token, str) or not token:
        return
    ctx.session.execute(update(sessions).where(
        sessions.c.token_hash == tokens.token_hash(token), sessions.c.revoked_at.is_(None))
        .values(revoked_at=clock.now()))


def set_password(ctx: Ctx, token: object, password: object) -> None:
    now = clock.now()
    bad_token = Invalid("This link is invalid or has expired; ask for a new one",
                        fields={"token": "invalid or expired"}, code="token_invalid")
    if not isinstance(token, str) or not token or len(token) > 200:
        raise bad_token
    row = password_tokens.find_usable(ctx, token, now)
    if row is None:
        raise bad_token
    user = get_row(ctx, row.user_id, for_update=True)
    assert user is not None
    prof = profile(ctx, user)
    problem = passwords.check(password, prof.email, (prof.first_name, prof.last_name))
    if problem:
        raise Invalid(problem, fields={"password": problem})
    assert isinstance(password, str)
    changes: dict[str, Any] = {"password_hash": password_hasher.hash_password(password),
                               "password_changed_at": now}
    if user.status == AccountStatus.INVITED.value:
        changes.update(status=AccountStatus.ACTIVE.value, status_changed_at=now)
    ctx.session.execute(update(users).where(users.c.id == user.id).values(**changes))
    password_tokens.mark_used(ctx, row.id, now)
    revoke_sessions(ctx, user.id, now)
    if user.password_hash is not None:  # a reset, not an invitee's first password
        password_changed(ctx, user, "reset", now)
    # whoever proved control of the mailbox may try again at once
    ctx.session.execute(delete(login_failures).where(login_failures.c.key == account_key(ctx, prof.email)))


def password_changed(ctx: Ctx, user: Any, how: str, now: datetime) -> None:
    """``password_changed``: the mailer tells the user (a takeover shows in their mailbox),
    compliance audits it. Only ids and dates: never the password, nor a link."""
    ctx.emit("password_changed", {"user_id": str(user.id), "role": user.role, "how": how,
                                  "changed_at": iso(now)})


def request_password_reset(ctx: Ctx, email: object) -> None:
    """Emails a set-password link if the account exists and may log in; answers the
    same either way. At most one email per account per minute (configurable)."""
    try:
        address = normalise_email(email)
    except ProfileError:
        return
    user = find_by_email(ctx, address)
    if user is None or user.status not in (AccountStatus.INVITED.value, AccountStatus.ACTIVE.value):
        return
    now = clock.now()
    ctx.lock(f"reset:{user.id}")
    last = password_tokens.latest_issued_at(ctx, user.id)
    if last is not None and now - last < ctx.settings.reset_min_interval:
        return
    link_ref, expires_at = password_tokens.issue(ctx, user.id, password_tokens.RESET, now)
    ctx.emit("password_reset_requested",
             password_tokens.email_payload(ctx, user, profile(ctx, user), link_ref, expires_at))


def purge_old_failures(ctx: Ctx) -> None:
    """Failures older than both windows count for nothing, nor do expired second-factor
    challenges; keep the tables small."""
    now = clock.now()
    horizon = now - max(ctx.settings.account_limit.window, ctx.settings.ip_limit.window)
    ctx.session.execute(delete(login_failures).where(login_failures.c.failed_at < horizon))
    second_factor.purge_expired_challenges(ctx, now)
