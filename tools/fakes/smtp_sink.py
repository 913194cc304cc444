"""Local SMTP sink: a real SMTP server that stores every message as an .eml file.

Why: the mailer service must talk real SMTP in development and tests, but no
mail may leave the machine. Each accepted message is written atomically (temp
file + rename) to ``<maildir>/<UTC timestamp>_<uuid>.eml`` so that listing the
directory in name order gives arrival order and readers never see half-written
files.

Run it::

    python tools/fakes/smtp_sink.py [--host H] [--port 1025] [--maildir var/mail]

or start it from tests with :func:`start_sink`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1025
DEFAULT_MAILDIR = Path("var/mail")

log = logging.getLogger("smtp_sink")


def message_filename(now: datetime | None = None) -> str:
    """Return a name that sorts by arrival time and never collides."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S.%fZ}_{uuid.uuid4().hex}.eml"


def write_atomically(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/name`` so readers only ever see whole files.

    The temp file is a dot-file in the same directory (same filesystem, so the
    rename is atomic) and does not end in ``.eml``, so ``*.eml`` globs skip it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    tmp = directory / f".{name}.tmp"
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(final)
    return final


class MaildirHandler:
    """aiosmtpd handler that accepts every message and saves it as .eml."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = Path(maildir)
        self.maildir.mkdir(parents=True, exist_ok=True)
        # aiosmtpd looks its hooks up by this exact, non-PEP 8, name.
        self.handle_DATA = self.save_message

    async def save_message(self, _server: Any, session: Any, envelope: Any) -> str:
        """Save the message with the SMTP envelope prepended as headers.

        The envelope is kept because Bcc recipients appear nowhere else, and
        tests of the mailer need to see who was really addressed.
        """
        content: bytes = envelope.original_content or envelope.content or b""
        if isinstance(content, str):  # only when decode_data=True; kept for safety
            content = content.encode("utf-8", "surrogateescape")
        eol = b"\r\n" if b"\r\n" in content[:4096] else b"\n"
        rcpt_tos: list[str] = list(envelope.rcpt_tos)
        trace = b"".join(
            f"{name}: {value}".encode("utf-8", "replace") + eol
            for name, value in (
                ("X-Sink-Envelope-From", envelope.mail_from),
                ("X-Sink-Envelope-To", ", ".join(rcpt_tos)),
                ("X-Sink-Peer", session.peer),
            )
        )
        path = write_atomically(self.maildir, message_filename(), trace + content)
        subject = BytesHeaderParser(policy=default_policy).parsebytes(content).get("Subject", "")
        log.info(
            "mail from=%s to=%s subject=%r bytes=%d file=%s",
            envelope.mail_from,
            ",".join(rcpt_tos),
            str(subject),
            len(content),
            path.name,
        )
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    """Pick a free TCP port: aiosmtpd's readiness check cannot use port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_sink(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    maildir: str | Path = DEFAULT_MAILDIR,
) -> Controller:
    """Start the sink in a background thread and return its running controller.

    ``port=0`` picks a free port; read it back from ``controller.port``. Call
    ``controller.stop()`` when done.
    """
    if port == 0:
        port = _free_port(host)
    controller = Controller(
        MaildirHandler(Path(maildir)),
        hostname=host,
        port=port,
        enable_SMTPUTF8=True,
    )
    controller.start()
    return controller


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    parser.add_argument(
        "--maildir",
        type=Path,
        default=DEFAULT_MAILDIR,
        help="where .eml files go (default %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    controller = start_sink(args.host, args.port, args.maildir)
    log.info(
        "listening on %s:%d, saving to %s",
        args.host,
        controller.port,
        args.maildir.resolve(),
    )
    try:
        stop.wait()
    finally:
        controller.stop()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
