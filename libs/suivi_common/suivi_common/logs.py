"""JSON-lines logging that carries service, correlation id and user id.

The container sets the worker's context in a (greenlet-local, once eventlet has
patched threading) local; the formatter reads it, so every log line of a request
can be joined across services by its correlation id.
"""
from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_local = threading.local()
_service = {"name": "-"}


def set_service_name(name: str) -> None:
    _service["name"] = name


def current_context() -> dict[str, Any]:
    return dict(getattr(_local, "ctx", {}) or {})


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    previous = getattr(_local, "ctx", None)
    _local.ctx = {k: v for k, v in values.items() if v is not None}
    try:
        yield
    finally:
        _local.ctx = previous


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": _service["name"],
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(current_context())
        for key in ("error_id", "event_type", "message_id", "code", "status"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info))[-4000:]
        return json.dumps(entry, default=str)


def is_refusal(exc: BaseException, expected: Any = ()) -> bool:
    """An expected refusal (a typed 4xx error, or an entrypoint's expected exception), as
    opposed to a bug: a typed error whose status is 5xx is a bug."""
    if not isinstance(exc, expected or ()):
        return False
    return int(getattr(exc, "status", 400) or 400) < 500


def log_refusal(logger: logging.Logger, where: str, exc: BaseException) -> None:
    """One INFO line, no traceback: ``<where> refused: <status> <code>: <message>``; the
    correlation id comes from the log context, code and status are fields of their own."""
    code = getattr(exc, "code", None) or type(exc).__name__
    status = getattr(exc, "status", None)
    logger.info("%s refused: %s %s: %s", where, status, code, exc,
                extra={"code": code, "status": status})


LOGGING_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "suivi_common.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {"nameko": {"level": "WARNING"}, "kombu": {"level": "WARNING"},
                "amqp": {"level": "WARNING"}},
}
