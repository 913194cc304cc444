"""Password hashing with argon2id (argon2-cffi defaults, RFC 9106 low-memory profile).

Hashing takes tens of milliseconds of CPU: it runs in eventlet's native thread pool
so one login does not freeze every other request of the process meanwhile.
"""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def _offload(fn, *args):  # type: ignore[no-untyped-def]
    try:
        from eventlet import tpool
    except ImportError:  # pragma: no cover
        return fn(*args)
    return tpool.execute(fn, *args)


def hash_password(password: str) -> str:
    return _offload(_hasher.hash, password)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(stored_hash: str, password: str) -> bool:
    return bool(_offload(_verify, stored_hash, password))


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has: timing equaliser")


def burn_verification(password: str) -> None:
    """Spend the time of a real verification, for unknown emails and unset passwords,
    so response times do not reveal which emails have an account."""
    verify_password(_dummy_hash(), password if isinstance(password, str) else "")
