"""Production is the default, and a production process refuses to start on a missing,
short or committed secret, with one line naming the variable."""
from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from nameko import config

from suivi_common.production import (
    KNOWN_DEFAULTS,
    UnsafeConfiguration,
    refuse_unsafe_secrets,
    secret_problem,
    secrets_used_by,
)
from suivi_common.settings import is_dev

GOOD_MASTER = base64.b64encode(os.urandom(32)).decode()
GOOD_RAW = os.urandom(24).hex()  # hex: no placeholder word can appear by chance
NAMES = ("CARD_PROVIDER_SECRET", "SUIVI_MASTER_KEY", "SUIVI_PRINCIPAL_KEY")


def production(**secrets: Any) -> Any:
    """nameko config of a production process holding ``secrets`` (None: unset)."""
    return config.patch({"SUIVI_ENV": "prod", **secrets}, clear=True)


@pytest.mark.parametrize("env, dev", [("dev", True), ("test", True), ("DEV", True),
                                      ("prod", False), ("production", False), ("", False),
                                      (None, False), ("devv", False)])
def test_only_an_explicit_dev_or_test_is_not_production(monkeypatch: pytest.MonkeyPatch,
                                                        env: str | None, dev: bool) -> None:
    monkeypatch.delenv("SUIVI_ENV", raising=False)
    with config.patch({} if env is None else {"SUIVI_ENV": env}, clear=True):
        assert is_dev() is dev


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_secret_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                         name: str) -> None:
    monkeypatch.delenv(name, raising=False)
    with production(), pytest.raises(UnsafeConfiguration) as err:
        refuse_unsafe_secrets([name])
    message = str(err.value)
    assert name in message and "missing" in message and "\n" not in message


@pytest.mark.parametrize("name, value", [
    ("CARD_PROVIDER_SECRET", "x7Gq2mZp9vR4tK8w"),  # 16 bytes
    ("SUIVI_PRINCIPAL_KEY", "Qm9yZWFsLXdpbmQtMjAyNi1rZXk"),  # 27 bytes
    ("SUIVI_MASTER_KEY", base64.b64encode(os.urandom(16)).decode()),  # decodes to 16 bytes
])
def test_a_short_secret_is_refused(name: str, value: str) -> None:
    assert "too short" in (secret_problem(name, value) or "")
    with production(**{name: value}), pytest.raises(UnsafeConfiguration, match=name):
        refuse_unsafe_secrets([name])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", sorted(KNOWN_DEFAULTS) + ["change_me-please-0123456789abcdefgh",
                                                            "a" * 40])
def test_known_and_placeholder_values_are_refused(name: str, value: str) -> None:
    problem = secret_problem(name, value)
    assert problem is not None and problem.startswith(name)


def test_the_master_key_must_be_32_base64_bytes() -> None:
    assert "not base64" in (secret_problem("SUIVI_MASTER_KEY", "%" * 44) or "")
    assert "exactly 32" in (secret_problem("SUIVI_MASTER_KEY",
                                           base64.b64encode(os.urandom(48)).decode()) or "")
    assert secret_problem("SUIVI_MASTER_KEY", GOOD_MASTER) is None


def test_good_secrets_pass_and_every_bad_one_is_named_in_one_line() -> None:
    with production(CARD_PROVIDER_SECRET=GOOD_RAW, SUIVI_MASTER_KEY=GOOD_MASTER,
                    SUIVI_PRINCIPAL_KEY=GOOD_RAW):
        refuse_unsafe_secrets(NAMES)
    with production(CARD_PROVIDER_SECRET="dev-card-secret", SUIVI_MASTER_KEY=GOOD_MASTER,
                    SUIVI_PRINCIPAL_KEY="short"), pytest.raises(UnsafeConfiguration) as err:
        refuse_unsafe_secrets(NAMES)
    message = str(err.value)
    assert "CARD_PROVIDER_SECRET" in message and "SUIVI_PRINCIPAL_KEY" in message
    assert "SUIVI_MASTER_KEY" not in message and "\n" not in message


def test_dev_checks_nothing() -> None:
    with config.patch({"SUIVI_ENV": "dev"}, clear=True):
        refuse_unsafe_secrets(NAMES)


def test_each_process_checks_the_secrets_it_uses() -> None:
    from suivi_common.database import Database

    class Service:
        secrets_used = ("CARD_PROVIDER_SECRET",)

    class Container:
        service_cls = Service
        dependencies = [Database.__new__(Database)]

    assert set(secrets_used_by(Container())) == set(NAMES)

    class Plain:
        pass

    class Bare:
        service_cls = Plain
        dependencies: list[Any] = []

    assert secrets_used_by(Bare()) == ("SUIVI_PRINCIPAL_KEY",)
