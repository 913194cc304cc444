"""Small nameko dependencies the mailer's workers use."""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider


class EventMessageId(DependencyProvider):
    """The message id of the event a reliable handler is handling (the one the common
    library claimed in the inbox), or None outside a reliable handler."""

    def get_dependency(self, worker_ctx: Any) -> str | None:
        inbox = getattr(worker_ctx, "inbox", None) or {}
        message_id = inbox.get("message_id")
        return str(message_id) if message_id else None
