"""Staff resetting a user's lost second factor (issue 14 §1, security review): who may,
on whom, and what the staff member must prove again first. Plain rules, no I/O.

A reset is a takeover path (whoever talks staff into it logs in with the password alone),
so it asks the acting staff member to prove who they are at that moment: their own
password, and a code of their own factor when they hold one. A staff member never resets
their own factor: another one must (the four-eyes rule), or they use a recovery code.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


SELF = Refusal("cannot_target_self",
               "Staff cannot reset their own second factor: ask another staff member, or "
               "log in with a recovery code")
ERASED = Refusal("account_erased", "This account was erased")
NOTHING = Refusal("mfa_not_enrolled", "This account has no second factor to reset")


def refusal(actor_id: str, target_id: str, target_erased: bool,
            target_has_factor: bool) -> Refusal | None:
    """Why this reset cannot be done, or None. A pending enrolment counts as a factor
    (it is removed with the rest)."""
    if actor_id == target_id:
        return SELF
    if target_erased:
        return ERASED
    if not target_has_factor:
        return NOTHING
    return None


def proofs_needed(actor_has_factor: bool) -> tuple[str, ...]:
    """What the acting staff member sends again: the password, and a code when their
    account holds an active factor (the dev bootstrap account may have none)."""
    return ("current_password", "code") if actor_has_factor else ("current_password",)
