"""Fixtures shared by the common library's tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from suivi_common import events
from suivi_common.testing import infra

# The sample services of these tests emit events of their own: their contracts.
events.CATALOGUE.update(events.load("""
[noted]
version = 1
emitted_by = ["tests"]
consumed_by = []
doc = "test_database_session"
fields.text = "str"
[thing_done]
version = 1
emitted_by = ["tests"]
consumed_by = []
doc = "test_autonomous"
fields.n = "int"
[recorded]
version = 1
emitted_by = ["tests"]
consumed_by = ["tests"]
doc = "test_outbox_inbox"
fields.value = "str"
[notice]
version = 1
emitted_by = ["tests"]
consumed_by = ["tests"]
broadcast = true
doc = "test_trust_boundary"
fields.n = "int"
"""))


@pytest.fixture
def vhost() -> Iterator[str]:
    """A RabbitMQ vhost of the test's own, deleted afterwards."""
    name = infra.fresh_vhost()
    yield name
    infra.delete_vhost(name)
