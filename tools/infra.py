"""Check that PostgreSQL and RabbitMQ answer, and say how to start them if not."""
from __future__ import annotations

import os
import socket
import sys

PG = (os.environ.get("PGHOST", "127.0.0.1"), int(os.environ.get("PGPORT", "5432")))
AMQP = (os.environ.get("AMQP_HOST", "127.0.0.1"), int(os.environ.get("AMQP_PORT", "5672")))

HOW = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "RabbitMQ": "rabbitmq-server -detached",
}


def reachable(addr: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(addr, timeout=2):
            return True
    except OSError:
        return False


def check() -> int:
    missing = [(name, addr) for name, addr in (("PostgreSQL", PG), ("RabbitMQ", AMQP))
               if not reachable(addr)]
    for name, addr in missing:
        print(f"error: {name} is not reachable at {addr[0]}:{addr[1]}. Start it with:\n"
              f"    {HOW[name]}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(check() if sys.argv[1:] == ["check"] else 2)
