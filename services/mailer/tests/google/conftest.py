"""Fixtures for the Gmail-link tests: the fake Google (tools/fakes/fake_google.py) on
loopback, a mailer database of their own, a running MailerService, and the link flow
driven as the gateway and a browser would."""
from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import eventlet
import pytest
import requests

import mailer
from mailer.google.gmail import Gmail, GmailChannel
from mailer.models import metadata
from suivi_common.auth import Principal
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra

ROOT = Path(__file__).resolve().parents[4]
MIGRATIONS = Path(mailer.__file__).parent / "migrations"
#: Its own database, so these tests never drop one the other mailer tests use.
DB_URL = f"{infra.PG_BASE}/mailer_google_test{infra.DB_SUFFIX}"


def load_fake() -> ModuleType:
    """tools/fakes/fake_google.py by path (tools/fakes is not a package)."""
    name = "suivi_fakes_fake_google"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "fakes" / "fake_google.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def fake_google_module() -> ModuleType:
    return load_fake()


@pytest.fixture
def fake_google(fake_google_module: ModuleType) -> Iterator[Any]:
    server, _ = fake_google_module.start_google()
    yield server
    server.shutdown()
    server.server_close()


class Clock:
    """A settable clock for pacing and token expiry: ``sleep`` moves it instead of waiting
    (and, ``yielding``, lets the other green threads run)."""

    def __init__(self, t: float = 1000.0, yielding: bool = False) -> None:
        self.t = t
        self.yielding = yielding
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        if self.yielding:
            eventlet.sleep(0)


def browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only, never through a proxy
    return session


def consent(url: str, email: str, **extra: str) -> dict[str, str]:
    """What a browser does at Google: open the URL, consent as ``email``, and come back
    with the redirect's query (code, state...)."""
    query = "".join(f"&{k}={v}" for k, v in {"login_hint": email, **extra}.items())
    resp = browser().get(url + query, allow_redirects=False, timeout=30)
    assert resp.status_code == 302, resp.text
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}


@pytest.fixture
def google_consent() -> Callable[..., dict[str, str]]:
    return consent


@pytest.fixture(scope="session")
def google_db() -> str:
    infra.recreate_database(DB_URL)
    from suivi_common.migrations import upgrade
    upgrade(MIGRATIONS, DB_URL, create=False)
    return DB_URL


def member(user_id: str) -> Principal:
    return Principal(user_id, "user", "net-google-tests")


@dataclass
class LiveMailer:
    cfg: dict[str, Any]
    containers: list[Any]
    google: Any

    @property
    def uri(self) -> str:
        return str(self.cfg["AMQP_URI"])

    def channel(self, index: int = 0) -> GmailChannel:
        """The Gmail channel of one running mailer instance (its own token store)."""
        return next(d.channel for d in self.containers[index].dependencies
                    if isinstance(d, Gmail))

    def authorize(self, user_id: str) -> dict[str, Any]:
        with RpcClient(self.uri, principal=member(user_id)) as rpc:
            return dict(rpc.mailer.google_authorize())

    def complete(self, code: str, state: str, binding: str | None) -> dict[str, Any]:
        with RpcClient(self.uri, service="gateway") as rpc:
            return dict(rpc.mailer.google_complete(code, state, binding))

    def link(self, user_id: str, email: str) -> dict[str, Any]:
        asked = self.authorize(user_id)
        back = consent(asked["url"], email)
        return self.complete(back["code"], back["state"], asked["binding"])

    def status(self, user_id: str) -> dict[str, Any]:
        with RpcClient(self.uri, principal=member(user_id)) as rpc:
            return dict(rpc.mailer.google_status())

    def unlink(self, user_id: str) -> dict[str, Any]:
        with RpcClient(self.uri, principal=member(user_id)) as rpc:
            return dict(rpc.mailer.google_unlink())


def google_config(vhost: str, db_url: str, google: Any, **extra: Any) -> dict[str, Any]:
    settings = {"DATABASE_URL": db_url, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": 9,
                "GOOGLE_CLIENT_ID": google.client_id, "GOOGLE_CLIENT_SECRET": google.client_secret,
                "GOOGLE_BASE_URL": google.base_url, "PUBLIC_URL": "https://app.suivi.test"}
    return infra.base_config(vhost, **{**settings, **extra})


@pytest.fixture
def run_mailer(google_db: str, fake_google: Any) -> Iterator[Callable[..., LiveMailer]]:
    """Start ``instances`` MailerService containers (own vhost, clean database) talking to
    the fake Google; stopped at the end of the test."""
    from mailer.service import MailerService

    infra.truncate_all(google_db, metadata)
    vhost = infra.fresh_vhost()
    stack: list[Any] = []

    def start(instances: int = 1, **extra: Any) -> LiveMailer:
        cfg = google_config(vhost, google_db, fake_google, **extra)
        ctx = infra.running(cfg, *([MailerService] * instances))
        containers = ctx.__enter__()
        stack.append(ctx)
        return LiveMailer(cfg, containers, fake_google)

    try:
        yield start
    finally:
        for ctx in reversed(stack):
            ctx.__exit__(None, None, None)
        infra.delete_vhost(vhost)


def _psycopg_url(dbname: str) -> str:
    """``dbname`` on the test cluster (``infra.PG_BASE``), as a plain psycopg URL."""
    return f"{infra.PG_BASE.replace('postgresql+psycopg://', 'postgresql://', 1)}/{dbname}"


def run_databases() -> list[str]:
    """Every test database of this run this machine holds: the services' (``*_test<suffix>``)
    and the end-to-end platform's (``*_e2e<suffix>``)."""
    import psycopg

    suffix = infra.DB_SUFFIX
    with psycopg.connect(_psycopg_url("postgres"), autocommit=True) as c:
        rows = c.execute("SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
                         (f"%\\_test{suffix}", f"%\\_e2e{suffix}")).fetchall()
    return sorted(r[0] for r in rows)


def find_in_database(dbname: str, secrets: list[str]) -> list[str]:
    """Where any of ``secrets`` appears in any row of any table of ``dbname``: each row is
    read whole as text (bytea as hex, so bytes are searched too)."""
    import psycopg
    from psycopg import sql

    needles = [(s, s) for s in secrets] + [(s, s.encode().hex()) for s in secrets]
    found = []
    with psycopg.connect(_psycopg_url(dbname), autocommit=True) as c:
        tables = c.execute("SELECT table_schema, table_name FROM information_schema.tables "
                           "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
                           "('pg_catalog', 'information_schema')").fetchall()
        for schema, table in tables:
            query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(sql.Identifier(schema),
                                                                     sql.Identifier(table))
            for (row,) in c.execute(query):
                for secret, needle in needles:
                    if needle in row:
                        found.append(f"{dbname}.{schema}.{table}: {secret[:8]}...")
    return found


def log_files() -> list[Path]:
    var = Path(os.environ.get("SUIVI_VAR", "var"))
    return sorted(p for p in (var / "log").glob("*.log*") if p.is_file()) if var.exists() else []


@pytest.fixture
def token_scan() -> Callable[..., list[str]]:
    """``token_scan(secrets, log_text, databases=None, files=())``: every place a secret
    shows up in every table of every test database, the given log text and log files."""
    def scan(secrets: list[str], log_text: str, databases: list[str] | None = None,
             files: list[Path] | tuple[Path, ...] = ()) -> list[str]:
        assert secrets, "nothing to look for"
        found = []
        for dbname in databases if databases is not None else run_databases():
            found += find_in_database(dbname, secrets)
        found += [f"log: {s[:8]}..." for s in secrets if s in log_text]
        for path in [*log_files(), *files]:
            text = path.read_text(errors="replace")
            found += [f"{path}: {s[:8]}..." for s in secrets if s in text]
        return found
    return scan
