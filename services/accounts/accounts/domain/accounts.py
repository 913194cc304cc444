"""Account lifecycle and who may do what with it.

* A user joins only through a network (art. 1) and belongs to exactly one; staff and
  compliance belong to none.
* ``invited`` until the first password is set; ``active`` afterwards.
* ``suspended`` and ``closed`` are staff decisions (art. 10.A, legitimate reason);
  ``terminated`` is the user's own decision (art. 10.B). None of them may log in.
* The contract is concluded at the first successful login with the credentials
  received by email (preamble), recorded once.
* A member's admin may look into their office unless the member refuses it in their
  account settings (art. 5): ``admin_access`` is on by default.
"""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"
    STAFF = "staff"
    COMPLIANCE = "compliance"


MEMBER_ROLES = (Role.USER.value, Role.ADMIN.value)
PLATFORM_ROLES = (Role.STAFF.value, Role.COMPLIANCE.value)


class AccountStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    TERMINATED = "terminated"


CAN_LOG_IN = (AccountStatus.INVITED.value, AccountStatus.ACTIVE.value)


def login_refusal(status: str) -> str | None:
    """The error code refusing a login with correct credentials, or None."""
    if status == AccountStatus.SUSPENDED.value:
        return "account_suspended"
    if status in (AccountStatus.CLOSED.value, AccountStatus.TERMINATED.value):
        return "account_closed"
    return None


def exempt_from_terms(role: str) -> bool:
    """The terms bind the platform's users; its own staff are not parties to them."""
    return role in PLATFORM_ROLES
