"""Real infrastructure for tests: databases, a RabbitMQ vhost, running containers."""
from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from nameko import config as nameko_config
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Engine, make_url

from suivi_common.database import Database
from suivi_common.migrations import ensure_database, upgrade

#: The cluster of ``SUIVI_PG_BASE``, else ``PGPORT`` on loopback (5432 when neither is set):
#: what tests and benchmarks use, so a shared machine's other cluster is left alone.
PG_BASE = os.environ.get("SUIVI_PG_BASE") or (
    f"postgresql+psycopg://postgres@127.0.0.1:{os.environ.get('PGPORT', '5432')}")
#: the same as ``psycopg.connect`` wants it (no ``+psycopg`` driver suffix)
PG_PLAIN = PG_BASE.replace("postgresql+psycopg://", "postgresql://", 1)
AMQP_BASE = os.environ.get("SUIVI_AMQP_BASE", "amqp://guest:guest@127.0.0.1:5672")


#: Appended to every test database name, so two checkouts (or two helpers) on one machine
#: can run their suites at once without dropping each other's databases.
DB_SUFFIX = os.environ.get("SUIVI_TEST_DB_SUFFIX", "")


def test_db_url(service: str) -> str:
    return f"{PG_BASE}/{service}_test{DB_SUFFIX}"


def recreate_database(url: str) -> None:
    """Drop and create: a test run never inherits a schema another checkout left behind
    (CI runs on the same machine as development)."""
    parsed = make_url(url)
    admin = parsed.set(database="postgres", drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    ensure_database(url)


def fresh_database(service: str, migrations_dir: Path) -> str:
    """A new, migrated test database for the service; returns its URL."""
    url = test_db_url(service)
    recreate_database(url)
    upgrade(migrations_dir, url, create=False)
    return url


def schema_database(url: str, metadata: MetaData, drop: bool = False) -> str:
    """The database at ``url`` with ``metadata``'s tables (created, or first dropped and
    created again); returns the URL. For the library's own test tables, which have no
    migrations."""
    ensure_database(url)
    engine = create_engine(url)
    if drop:
        metadata.drop_all(engine)
    metadata.create_all(engine)
    engine.dispose()
    return url


@contextlib.contextmanager
def schema_engine(url: str, metadata: MetaData) -> Iterator[Engine]:
    """An engine on ``schema_database(url, metadata)``, every table emptied first; disposed
    after."""
    engine = create_engine(schema_database(url, metadata))
    truncate_all(url, metadata)
    try:
        yield engine
    finally:
        engine.dispose()


def truncate_all(url: str | Engine, metadata: MetaData, keep: tuple[str, ...] = ()) -> None:
    """Empty every table of ``metadata`` but those in ``keep`` (a running service caches
    its ``data_keys``: wiping them under it would desynchronise encryption)."""
    engine = create_engine(url) if isinstance(url, str) else url
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name not in keep)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    if engine is not url:
        engine.dispose()


def rabbitmqctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True,
                          text=True)


def fresh_vhost() -> str:
    """An isolated RabbitMQ vhost, so tests never see another run's queues."""
    name = f"suivi-test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return name


def delete_vhost(name: str) -> None:
    rabbitmqctl("delete_vhost", name, check=False)


def connections_of(vhost: str) -> list[str]:
    """The pids of the broker connections open on ``vhost``."""
    listed = rabbitmqctl("list_connections", "vhost", "pid").stdout
    return [line.split("\t")[1] for line in listed.splitlines()
            if line.count("\t") == 1 and line.split("\t")[0] == vhost]


def close_connections(vhost: str, reason: str = "test") -> int:
    """Close every broker connection of ``vhost``, as a network fault would; returns how many
    were open. One ``close_all_connections`` for the vhost: closing them one ``rabbitmqctl``
    at a time takes about a second each, which would turn one outage into a slow trickle."""
    pids = connections_of(vhost)
    if pids:
        if rabbitmqctl("close_all_connections", "--vhost", vhost, reason, check=False).returncode:
            for pid in pids:
                rabbitmqctl("close_connection", pid, reason, check=False)
    return len(pids)


def add_broker_user(name: str, password: str, vhost: str, configure: str, write: str,
                    read: str) -> None:
    """A RabbitMQ user with these permission patterns on one vhost (the test deletes it)."""
    rabbitmqctl("add_user", name, password)
    rabbitmqctl("set_permissions", "-p", vhost, name, configure, write, read)


def delete_broker_user(name: str) -> None:
    rabbitmqctl("delete_user", name, check=False)


def amqp_uri(vhost: str) -> str:
    return f"{AMQP_BASE}/{vhost}"


def base_config(vhost: str, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "AMQP_URI": amqp_uri(vhost),
        "SERVICE_CONTAINER_CLS": "suivi_common.container.SuiviContainer",
        "SUIVI_ENV": "test",
        "PASSWORD_HASH_PROFILE": "test",  # argon2id at 1 MiB (accounts' password_hasher)
        "EVENT_RETRY_DELAYS_MS": [50, 100],
        "SUIVI_MASTER_KEY_FILE": str(Path(os.environ.get("SUIVI_VAR", "var")) / "test-master.key"),
        # absolute: processes started elsewhere (crash tests) must sign with the same key
        "SUIVI_PRINCIPAL_KEY_FILE": str(Path(os.environ.get("SUIVI_VAR", "var")).resolve()
                                        / "test-principal.key"),
    }
    cfg.update(extra)
    return cfg


@dataclass
class Stack:
    """Services running on a vhost of their own over one database (``running_on``)."""

    cfg: dict[str, Any]
    engine: Engine
    vhost: str
    databases: list[Database]

    def forget_data_keys(self) -> None:
        """After a truncation of ``data_keys``: the running services forget their cached keys."""
        for database in self.databases:
            database.keyring._cache.clear()


@contextlib.contextmanager
def running_on(url: str, *service_classes: type, **settings: Any) -> Iterator[Stack]:
    """``service_classes`` running with ``DATABASE_URL=url`` (and ``settings``) on a fresh
    vhost, deleted afterwards, with an engine on ``url``."""
    engine = create_engine(url)
    vhost = fresh_vhost()
    cfg = base_config(vhost, DATABASE_URL=url, **settings)
    try:
        with running(cfg, *service_classes) as containers:
            yield Stack(cfg, engine, vhost, [d for c in containers for d in c.dependencies
                                             if isinstance(d, Database)])
    finally:
        delete_vhost(vhost)
        engine.dispose()


@contextlib.contextmanager
def running(cfg: dict[str, Any], *service_classes: type) -> Iterator[list[Any]]:
    """Run real service containers (in this process) with ``cfg`` as nameko config."""
    from nameko.containers import get_container_cls

    with nameko_config.patch(cfg, clear=False):
        containers = [get_container_cls()(cls) for cls in service_classes]
        for c in containers:
            c.start()
        try:
            yield containers
        finally:
            for c in containers:
                try:
                    c.stop()
                except Exception:
                    c.kill()
