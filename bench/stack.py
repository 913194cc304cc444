"""Start a throw-away platform for benchmarks (own databases, vhost, ports)."""
from __future__ import annotations

import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

from tools.platform import SERVICES, Platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_platform(suffix: str = "_bench", services: tuple[str, ...] = tuple(SERVICES),
                   **extra_env: str) -> Platform:
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        for service in SERVICES:
            conn.execute(f'DROP DATABASE IF EXISTS "{service}{suffix}" WITH (FORCE)')
    var_dir = Path(tempfile.mkdtemp(prefix="suivi-bench-"))
    return Platform(db_suffix=suffix, vhost=f"suivi-bench-{uuid.uuid4().hex[:8]}",
                    gateway_port=free_port(), smtp_port=free_port(), card_port=free_port(),
                    var_dir=var_dir, extra_env={"LOG_LEVEL": "WARNING", **extra_env},
                    services=services)


def drop_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)
