"""End-to-end fixtures: the real platform (every service, the gateway, the SMTP sink and
the card provider as separate processes) on its own databases, vhost and ports."""
from __future__ import annotations

import functools
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from suivi_common.testing.infra import PG_BASE
from suivi_common.testing.waiting import wait_for
from tools.api_client import Api, Mailbox, new_member, new_network
from tools.platform import DEV_STAFF, SERVICES, Platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_url(dbname: str) -> str:
    """A libpq URL of ``dbname`` on the cluster the tests use (``infra.PG_BASE``)."""
    return f"{PG_BASE.replace('postgresql+psycopg://', 'postgresql://', 1)}/{dbname}"


def drop_databases(suffix: str) -> None:
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        for service in SERVICES:
            conn.execute(f'DROP DATABASE IF EXISTS "{service}{suffix}" WITH (FORCE)')


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("platform")) as p:
        yield p


@contextmanager
def running_platform(var_dir: Path, suffix: str = "_e2e") -> Iterator[Platform]:
    """The end-to-end platform, stopped and its vhost dropped on the way out (the browser
    tests start theirs with it, and stop it before the end-to-end suite starts its own:
    two would crowd PostgreSQL)."""
    suffix = suffix + os.environ.get("SUIVI_TEST_DB_SUFFIX", "")
    drop_databases(suffix)
    p = Platform(db_suffix=suffix, vhost=f"suivi-e2e-{uuid.uuid4().hex[:8]}",
                 gateway_port=free_port(), smtp_port=free_port(), card_port=free_port(),
                 # a test run cut short (a SIGKILL of pytest) takes its platform along,
                 # which would otherwise hold the next run's databases
                 var_dir=var_dir, die_with_parent=True,
                 extra_env={"SUIVI_ENV": "dev", "AUTH_CACHE_SECONDS": "0",
                                             # argon2id at 1 MiB (accounts' password_hasher)
                                             "PASSWORD_HASH_PROFILE": "test",
                                             # a few pooled connections a service: this
                                             # platform lives beside the other shard's
                                             # tests, and a new machine's PostgreSQL
                                             # takes 100 connections in all
                                             "DB_POOL_SIZE": "5",
                                             "EVENT_RETRY_DELAYS_MS": "[200, 500, 1000]",
                                             # as behind a local proxy: tests may say who
                                             # the client is with X-Forwarded-For
                                             "TRUSTED_PROXIES": "127.0.0.1/32",
                                             # the stale-lead reminder after one month,
                                             # not twelve (test_compliance_done_when)
                                             "STALE_LEAD_MONTHS": "1"})
    if os.environ.get("E2E_SERVICES"):  # a partial platform, while developing
        p.services = tuple(os.environ["E2E_SERVICES"].split(","))
    try:
        p.start()
    except Exception as error:
        p.stop()
        p.drop_capture_user()
        logs = "\n".join(f"--- {f.name}\n{f.read_text()[-3000:]}"
                         for f in sorted((var_dir / "log").glob("*.log")))
        raise RuntimeError(f"platform failed to start: {error!r}\n{logs}") from None
    try:
        yield p
    finally:
        p.stop()
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", p.vhost], capture_output=True)
        p.drop_capture_user()


@pytest.fixture(scope="session")
def base_url(platform: Platform) -> str:
    return platform.url


@pytest.fixture(scope="session")
def mailbox(platform: Platform) -> Mailbox:
    return Mailbox(Path(platform.var_dir) / "mail")


@pytest.fixture
def staff(base_url: str) -> Api:
    """A fresh staff session per test: some tests move the platform clock past a token's life."""
    return Api(base_url).login(*DEV_STAFF)


@pytest.fixture
def anon(base_url: str) -> Api:
    return Api(base_url)


class PlatformClock:
    """The whole platform's dev clock (it keeps running once set). Each move returns once
    every service runs on the new time: the gateway waits a few seconds for their word,
    and on a busy machine the rest is waited for here, on their health."""

    def __init__(self, base_url: str) -> None:
        self.api = Api(base_url)
        self.offset = 0.0

    def __call__(self, day: date, hour: int = 9) -> None:
        """The clock reads ``day`` at ``hour`` in Paris."""
        self.set(datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Europe/Paris")))

    def forward(self, seconds: float) -> None:
        """The clock jumps ``seconds`` ahead of where it is."""
        self.set(datetime.now(UTC) + timedelta(seconds=self.offset + seconds))

    def set(self, instant: datetime) -> None:
        self._confirm(self.api.post("/api/dev/clock", {"now": instant.isoformat()}, expect=200))

    def reset(self) -> None:
        """Real time again."""
        self._confirm(self.api.call("DELETE", "/api/dev/clock", expect=200)[1])

    def _confirm(self, body: dict[str, Any]) -> None:
        self.offset = float(body["offset_seconds"])
        if len(body["confirmed"]) < len(SERVICES):
            wait_for(self._everyone_on_it, what=f"every service on clock offset {self.offset}")

    def _everyone_on_it(self) -> bool:
        _, health = self.api.call("GET", "/health")
        services = health.get("services", {}) if isinstance(health, dict) else {}
        return all(abs(float(services.get(name, {}).get("clock_offset_seconds", 1e18))
                       - self.offset) < 1.0 for name in SERVICES)


@pytest.fixture
def moved_clock(base_url: str) -> Iterator[PlatformClock]:
    """``moved_clock(day, hour=9)`` or ``moved_clock.forward(seconds)``: the platform's
    clock moved, real time again after the test. A test whose rules count days moves it
    first, so a run near a real midnight cannot change "today" under it."""
    platform_clock = PlatformClock(base_url)
    yield platform_clock
    platform_clock.reset()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def make_network(base_url: str, mailbox: Mailbox) -> Any:
    """``make(name=None, password=..., countries=None, subscribe=None, admin_name=...)``:
    a network and its onboarded admin (``tools.api_client.new_network``)."""
    return functools.partial(new_network, base_url, mailbox)


@pytest.fixture
def invite_member(base_url: str, mailbox: Mailbox) -> Any:
    """``invite(admin, password=..., accept_terms=True)``: a member of ``admin``'s network,
    onboarded (``tools.api_client.new_member``)."""
    return functools.partial(new_member, base_url, mailbox)
