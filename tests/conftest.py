"""The platform the browser and end-to-end suites share: one per test process, started by
the first test that asks for it and stopped when the process ends.

Why shared: starting every service, the gateway and the fakes, on freshly migrated
databases, is the slowest step of either suite; the two suites create their own networks
and users, so neither depends on what the other left behind.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import running_platform
from tools.api_client import Mailbox
from tools.platform import Platform


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("platform")) as p:
        yield p


@pytest.fixture(scope="session")
def base_url(platform: Platform) -> str:
    return platform.url


@pytest.fixture(scope="session")
def mailbox(platform: Platform) -> Mailbox:
    return Mailbox(Path(platform.var_dir) / "mail")
