"""Who may reset whose second factor, and what the staff member proves again first."""
from __future__ import annotations

from accounts.domain import factor_reset as rules


def test_a_staff_member_resets_another_accounts_factor() -> None:
    assert rules.refusal("staff-1", "user-1", target_erased=False, target_has_factor=True) is None


def test_nobody_resets_their_own_factor() -> None:
    refused = rules.refusal("staff-1", "staff-1", target_erased=False, target_has_factor=True)
    assert refused is rules.SELF and refused.code == "cannot_target_self"


def test_an_erased_account_or_one_without_a_factor_is_refused() -> None:
    assert rules.refusal("s", "u", target_erased=True, target_has_factor=True) is rules.ERASED
    assert rules.refusal("s", "u", target_erased=False, target_has_factor=False) is rules.NOTHING


def test_the_password_always_and_a_code_when_the_staff_member_holds_a_factor() -> None:
    assert rules.proofs_needed(actor_has_factor=True) == ("current_password", "code")
    assert rules.proofs_needed(actor_has_factor=False) == ("current_password",)
