"""The cheap argon2id profile of the test suites never reaches production."""
from __future__ import annotations

import nameko
import pytest

from accounts.adapters import password_hasher


@pytest.mark.parametrize("env", ["prod", "", "production"])
def test_production_hashes_with_rfc_9106_whatever_the_setting(env: str) -> None:
    with nameko.config.patch({"SUIVI_ENV": env, "PASSWORD_HASH_PROFILE": "test"}):
        stored = password_hasher.hash_password("Correct-Horse-Battery-42")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_test_profile_is_still_argon2id_and_checks_the_password() -> None:
    with nameko.config.patch({"SUIVI_ENV": "test", "PASSWORD_HASH_PROFILE": "test"}):
        stored = password_hasher.hash_password("Correct-Horse-Battery-42")
        assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
        assert password_hasher.verify_password(stored, "Correct-Horse-Battery-42")
        assert not password_hasher.verify_password(stored, "Correct-Horse-Battery-43")
    with nameko.config.patch({"SUIVI_ENV": "prod"}):  # a cheap hash met in production
        assert password_hasher.needs_rehash(stored)   # is upgraded at the next login


def test_without_the_setting_dev_hashes_as_production() -> None:
    with nameko.config.patch({"SUIVI_ENV": "dev", "PASSWORD_HASH_PROFILE": None}):
        assert password_hasher.hasher() is password_hasher.PRODUCTION
