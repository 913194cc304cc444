"""Password hashing with argon2id (argon2-cffi defaults, RFC 9106 low-memory profile).

Hashing takes tens of milliseconds of CPU: it runs in eventlet's native thread pool
so one login does not freeze every other request of the process meanwhile.

``PASSWORD_HASH_PROFILE=test`` gives argon2id at 1 MiB and one pass, and only outside
production (``SUIVI_ENV`` dev or test): the test suites sign in thousands of times, and at
64 MiB, three passes and four lanes each costs a third of a second of both cores of a
2-core machine. Production always hashes with the RFC 9106 profile, whatever the setting.
"""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from suivi_common.settings import is_dev, setting

PRODUCTION = PasswordHasher()
TEST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def hasher() -> PasswordHasher:
    if setting("PASSWORD_HASH_PROFILE") == "test" and is_dev():
        return TEST
    return PRODUCTION


def _offload(fn, *args):  # type: ignore[no-untyped-def]
    try:
        from eventlet import tpool
    except ImportError:  # pragma: no cover
        return fn(*args)
    return tpool.execute(fn, *args)


def hash_password(password: str) -> str:
    return _offload(hasher().hash, password)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(stored_hash: str, password: str) -> bool:
    return bool(_offload(_verify, stored_hash, password))


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)


@lru_cache(maxsize=2)
def _dummy_hash(of: PasswordHasher) -> str:
    return of.hash("not a password anyone has: timing equaliser")


def burn_verification(password: str) -> None:
    """Spend the time of a real verification, for unknown emails and unset passwords,
    so response times do not reveal which emails have an account."""
    verify_password(_dummy_hash(hasher()), password if isinstance(password, str) else "")
