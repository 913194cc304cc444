"""Fixtures shared by the common library's tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from suivi_common.testing import infra


@pytest.fixture
def vhost() -> Iterator[str]:
    """A RabbitMQ vhost of the test's own, deleted afterwards."""
    name = infra.fresh_vhost()
    yield name
    infra.delete_vhost(name)
