"""Fault-test fixtures: a whole platform of our own (every service, the gateway and the
fakes as separate processes, on private databases, vhost and ports), which the tests may
kill and restart, plus an audit queue that keeps a copy of every event the services
publish.

The platform is not shared with the end-to-end tests: killing its processes would
disturb them.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from suivi_common.testing.infra import PG_BASE
from tools.platform import SERVICES, Platform

#: the cluster's maintenance database, as psycopg reaches it (SUIVI_PG_BASE)
PG_ADMIN = f"{PG_BASE.replace('postgresql+psycopg://', 'postgresql://')}/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drop_databases(prefix: str, run: str = "[0-9a-f]{8}") -> None:
    """Drop the fault-test databases of one run, or (by default) of every run of this
    checkout's suffix."""
    pattern = re.compile(f"({'|'.join(SERVICES)}){re.escape(prefix)}{run}")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for name, in conn.execute("SELECT datname FROM pg_database").fetchall():
            if pattern.fullmatch(name):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Audit:
    """A durable queue bound to every ``<service>.events`` exchange before any service
    starts: it receives a copy of every event published (a republished one twice)."""

    amqp_uri: str
    queue: str = "fault-test.audit"

    def bind(self) -> None:
        """Declare each service's event exchange exactly as nameko does, then bind."""
        from kombu import Connection, Queue
        from nameko.standalone.events import get_event_exchange

        with Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            queue = Queue(self.queue, durable=True, channel=channel)
            queue.declare()
            for service in SERVICES:
                exchange = get_event_exchange(service)
                exchange(channel).declare()
                queue.bind_to(exchange=exchange.name, routing_key="#")

    def drain(self) -> list[tuple[str, str, str]]:
        """Everything queued so far, as ``(source service, event type, message id)``."""
        from kombu import Connection

        out = []
        with Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            while True:
                message = channel.basic_get(self.queue, no_ack=True)
                if message is None:
                    return out
                source = message.delivery_info["exchange"].removesuffix(".events")
                out.append((source, message.delivery_info["routing_key"],
                            str(message.properties.get("message_id"))))


#: The test's own database sessions say who they are, so a fault never cuts them.
APPLICATION_NAME = "fault-test"


@dataclass
class FaultPlatform:
    platform: Platform
    audit: Audit
    connections: dict[str, psycopg.Connection] = field(default_factory=dict)
    application_name: str = APPLICATION_NAME
    killing: set[str] = field(default_factory=set)  # processes a fault is killing right now

    def query(self, service: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Read (or act on) a service's database, on one connection per database. The
        server may be short of connection slots (other suites share it): retried."""
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = self.connections.get(service)
                if conn is None or conn.closed:
                    conn = self.connections[service] = psycopg.connect(
                        self.pg_url(service), autocommit=True, application_name=self.application_name)
                return list(conn.execute(sql, params).fetchall())
            except psycopg.OperationalError:
                self.connections.pop(service, None)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def dead(self) -> list[str]:
        """Processes of the platform that exited although nobody killed them, each with the
        last error lines of its log."""
        return [f"{name} exited with {proc.returncode}: {self.last_errors(name)}"
                for name, proc in list(self.platform.processes)
                if name not in self.killing and proc.poll() is not None]

    def last_errors(self, name: str) -> list[str]:
        """The last CRITICAL records of a process's log (what killed a container), each
        with the end of its traceback."""
        log = Path(self.platform.var_dir) / "log" / f"{name}.log"
        out = []
        for line in (log.read_text(errors="replace").splitlines() if log.exists() else []):
            if '"CRITICAL"' in line:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                raised = [x for x in str(record.get("exc", "")).splitlines()
                          if re.match(r"[A-Za-z_][\w.]*: ", x)]  # "module.Error: message"
                out.append(f"{record.get('msg', '')} :: {raised[-1] if raised else ''}"[:600])
        return out[-3:]

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()

    @property
    def url(self) -> str:
        return self.platform.url

    @property
    def amqp_uri(self) -> str:
        return self.audit.amqp_uri

    @property
    def capture_uri(self) -> str:
        """What a capture site is given: the platform's capture broker user where it has
        one (``Platform.capture_uri``), else the services' URI."""
        return str(getattr(self.platform, "capture_uri", self.amqp_uri))

    @property
    def mail_dir(self) -> Path:
        return Path(self.platform.var_dir) / "mail"

    def pg_url(self, service: str) -> str:
        return self.platform.db_url(service).replace("postgresql+psycopg://", "postgresql://")

    def db_name(self, service: str) -> str:
        return f"{service}{self.platform.db_suffix}"


def _drop_broker_users(p: Platform) -> None:
    """The capture sites' broker user of this platform, where it has one."""
    drop = getattr(p, "drop_capture_user", None)
    if drop is not None:
        drop()


@pytest.fixture(scope="module")
def fault_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultPlatform]:
    # Each run has databases of its own: a process left over by a run cut short can never
    # write into the next run's (and whatever such a run left is dropped here).
    prefix = "_fault" + os.environ.get("SUIVI_TEST_DB_SUFFIX", "") + "_"
    drop_databases(prefix)
    run = uuid.uuid4().hex[:8]
    suffix = prefix + run
    var_dir = tmp_path_factory.mktemp("fault-platform")
    vhost = f"suivi-fault-{run}"
    p = Platform(db_suffix=suffix, vhost=vhost, gateway_port=free_port(), smtp_port=free_port(),
                 card_port=free_port(), var_dir=var_dir, die_with_parent=True,
                 extra_env={"SUIVI_ENV": "dev", "PASSWORD_HASH_PROFILE": "test",
                            # fewer pooled connections: the database server is shared
                            "MAX_WORKERS": "12", "DB_POOL_SIZE": "5",
                            # enough attempts that a handler failing while another service
                            # restarts is retried, not dead-lettered
                            "EVENT_RETRY_DELAYS_MS": "[200, 500, 1000, 2000, 4000, 8000]"})
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*",
                    ".*"], check=True, capture_output=True)
    audit = Audit(p.env()["AMQP_URI"])
    try:
        audit.bind()
        p.start()
    except Exception as error:
        p.stop()
        _drop_broker_users(p)
        logs = "\n".join(f"--- {f.name}\n{f.read_text()[-3000:]}"
                         for f in sorted((var_dir / "log").glob("*.log")))
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)
        raise RuntimeError(f"platform failed to start: {error!r}\n{logs}") from None
    fp = FaultPlatform(p, audit)
    yield fp
    fp.close()
    p.stop()
    _drop_broker_users(p)
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)
    if not os.environ.get("FAULT_KEEP_DATABASES"):  # kept to look into a failure
        drop_databases(prefix, run)
