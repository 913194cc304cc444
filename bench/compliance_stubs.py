"""A stand-in for ``compliance`` in the breach fan-out benchmark (``bench.compliance_breach``).

Why: the benchmark measures the mailer's breach-notice path (``breach_notice_requested``
in, SMTP out, ``breach_notice_sent`` back). Compliance's side of the answer only records
progress, so this stub counts the mailer's reports, by notice and status, to check that
each controller was reported once. Accounts is ``bench.mail_stubs.StubAccounts`` (its
``get_user`` answers from the id, no database).
"""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from nameko.events import event_handler
from nameko.rpc import rpc

from bench import mail_stubs

_lock = threading.Lock()
_reports: dict[str, int] = {}
_statuses: Counter[str] = Counter()


class StubCompliance:
    name = "compliance"

    @event_handler("mailer", "breach_notice_sent")
    def on_breach_notice_sent(self, payload: dict[str, Any]) -> None:
        with _lock:
            key = f"{payload.get('breach_id')}:{payload.get('user_id')}:{payload.get('stage')}"
            _reports[key] = _reports.get(key, 0) + 1
            _statuses[str(payload.get("status"))] += 1

    @rpc
    def bench_reports(self) -> dict[str, Any]:
        """``breach_notice_sent`` received: in all, for how many notices, by status."""
        with _lock:
            return {"events": sum(_reports.values()), "notices": len(_reports),
                    "statuses": dict(_statuses)}

    @rpc
    def bench_calls(self) -> dict[str, int]:
        """The mailer's calls to ``StubAccounts`` so far (same process), by method."""
        return dict(mail_stubs._calls)

    @rpc
    def health(self) -> dict[str, str]:
        return {"status": "ok"}
