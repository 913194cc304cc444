"""Capture-site client: publish leads to the capture exchange with publisher confirms.

    python -m leads.capture_client leads.jsonl \
        --amqp-uri amqp://suivi-capture:<password>@broker:5672/<vhost> --capture-key lck_...

**Broker identity.** Capture sites connect as the capture broker user (``suivi-capture``
by default, see the README's configuration table), never with the services' user. That
user may only write to the ``leads.capture`` exchange: it cannot declare anything, read
or consume any queue, or publish to the RPC or event exchanges, so it can call no
service. ``make run`` (``tools/platform.py``) creates it with ``rabbitmqctl`` for its
vhost; ``docker-compose.yml`` and ``deploy/`` with the definitions file
``deploy/rabbitmq/definitions.json``. The site's capture key (a header) says which site
sent a batch; leads drops batches with an unknown or revoked key.

One JSON object per line. Leads go out in batches (one message each); a batch counts as
sent only once RabbitMQ confirmed it (persisted, routed to the durable queue), otherwise
``publish`` raises. Message ids are the SHA-256 of the batch, so re-sending a file after a
crash or a timeout reuses the same ids and the service stores each lead once (it dedupes
by message id). Re-sending with another batch size makes new ids: such leads then come
back as duplicates, stored for audit and never sold.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pika

DEFAULT_EXCHANGE = "leads.capture"  # routing key: the same name (the capture queue's)
CAPTURE_KEY_HEADER = "x-capture-key"
#: The capture sites' broker user (``CAPTURE_AMQP_USER``), by default.
DEFAULT_CAPTURE_USER = "suivi-capture"


def capture_permissions(exchange: str = DEFAULT_EXCHANGE) -> tuple[str, str, str]:
    """The capture user's RabbitMQ permissions on its vhost, (configure, write, read): it
    declares nothing, writes to the capture exchange only, reads nothing."""
    return "^$", f"^{re.escape(exchange)}$", "^$"


def batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def read_jsonl(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise SystemExit(f"{path}:{number}: not JSON ({exc})") from None


class CaptureClient:
    def __init__(self, amqp_uri: str, capture_key: str, exchange: str = DEFAULT_EXCHANGE) -> None:
        self.capture_key = capture_key
        self.exchange = exchange
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
        self.channel = self.connection.channel()
        # declares nothing (the capture user may not): the service, or the broker's
        # definitions, made the exchange and its queue; a batch nobody would receive is
        # returned (mandatory) and raises
        self.channel.confirm_delivery()

    def publish(self, leads: list[Any]) -> str:
        """Send one batch; returns its message id once the broker confirmed it."""
        body = json.dumps({"leads": leads}, sort_keys=True, separators=(",", ":")).encode()
        message_id = hashlib.sha256(body).hexdigest()
        self.channel.basic_publish(
            exchange=self.exchange, routing_key=self.exchange, body=body, mandatory=True,
            properties=pika.BasicProperties(
                content_type="application/json", content_encoding="utf-8",
                delivery_mode=pika.DeliveryMode.Persistent, message_id=message_id,
                headers={CAPTURE_KEY_HEADER: self.capture_key}))
        return message_id

    def send(self, leads: Iterable[Any], batch_size: int = 100) -> int:
        sent = 0
        for batch in batches(leads, batch_size):
            self.publish(batch)
            sent += len(batch)
        return sent

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()

    def __enter__(self) -> CaptureClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leads.capture_client",
                                     description="Publish captured leads (JSON lines).")
    parser.add_argument("file", type=Path, help="one lead (JSON object) per line")
    parser.add_argument("--amqp-uri", default=os.environ.get(
        "AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/%2F"))
    parser.add_argument("--capture-key", default=os.environ.get("CAPTURE_KEY"),
                        help="the site's key (or env CAPTURE_KEY)")
    parser.add_argument("--exchange", default=DEFAULT_EXCHANGE,
                        help="the capture exchange (CAPTURE_QUEUE of the leads service)")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    if not args.capture_key:
        parser.error("--capture-key (or CAPTURE_KEY) is required")
    if not 1 <= args.batch_size <= 1000:
        parser.error("--batch-size must be between 1 and 1000")
    with CaptureClient(args.amqp_uri, args.capture_key, args.exchange) as client:
        sent = client.send(read_jsonl(args.file), args.batch_size)
    print(f"published {sent} leads to {args.exchange}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
