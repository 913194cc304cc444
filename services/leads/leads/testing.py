"""Helpers shared by the leads tests and benchmarks (importlib mode: tests cannot import
each other). Nothing here runs in production."""
from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from suivi_common.testing.process import NamekoProcess
from suivi_common.testing.waiting import broker_settled, wait_for  # noqa: F401  (one way to wait)

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
TIERS = ("standard", "premium", "premium_plus")


def raw_lead(i: int, tier: str = "premium_plus", country: str = "FR",
             consent_at: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid capture payload, unique per ``i``, graded ``tier`` by the default rules."""
    from suivi_common import clock

    consent = (consent_at or clock.now() - timedelta(minutes=1)).isoformat()
    lead: dict[str, Any] = {
        "first_name": "Jean", "last_name": f"Martin{i}", "email": f"lead{i}@example.fr",
        "country": country, "source_url": "https://devenir.example.fr/form",
        "consent_at": consent, "postal_code": "75011", "city": "Paris",
    }
    if tier in ("premium", "premium_plus"):
        lead["mobile"] = "06" + f"{i % 100_000_000:08d}"
    if tier == "premium_plus":
        lead.update(call_window="18h-20h", time_available="10h/semaine", income_goal="1000")
    lead.update(overrides)
    return lead


def snapshot(plan_id: str, user_id: str, quotas: Mapping[date, int], *, tier: str = "premium_plus",
             country: str = "FR", network_id: str = "net-1", auto: bool = False,
             version: int = 1, status: str = "active",
             kind: str | None = None) -> dict[str, Any]:
    """A plans entitlement snapshot as described in ARCHITECTURE.md; without ``kind``, one
    as plans sent them before kinds (read as construction)."""
    days = sorted(quotas)
    extra = {} if kind is None else {"kind": kind}
    return {**extra,
        "plan_id": plan_id, "user_id": user_id, "network_id": network_id, "status": status,
        "tier": tier, "country": country,
        "start_date": days[0].isoformat() if days else None,
        "end_date": days[-1].isoformat() if days else None,
        "records_remaining": sum(quotas.values()),
        "quota_schedule": {d.isoformat(): q for d, q in quotas.items()},
        "auto_delivery": auto, "version": version,
    }


def publish_event(amqp_uri: str, service: str, event_type: str, payload: Mapping[str, Any],
                  message_id: str | None = None) -> None:
    """Publish like the outbox relay does (exchange ``<service>.events``, a message id, the
    service's signed principal)."""
    from suivi_common.testing.messages import publish_event as publish_signed

    publish_signed(amqp_uri, service, event_type, payload, message_id or str(uuid.uuid4()))


def queue_consumers(vhost: str, queue: str) -> int:
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "consumers"],
                         capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == queue:
            return int(parts[1])
    return 0


class LeadsProcess(NamekoProcess):
    """A real ``nameko run`` of the leads service (killable with SIGKILL)."""

    def __init__(self, env: Mapping[str, str], log_path: Path, index: int = 0) -> None:
        super().__init__("services/leads/config.yaml", "leads.service:LeadsService", log_path,
                         cwd=ROOT, env=env)
        self.index = index


def wait_instances(vhost: str, count: int, procs: list[LeadsProcess], timeout: float = 40) -> None:
    """Wait until ``count`` leads instances consume their RPC queue."""
    deadline = time.monotonic() + timeout
    while queue_consumers(vhost, "rpc-leads") < count:
        for p in procs:
            if p.proc is not None and p.proc.poll() is not None:
                raise RuntimeError(f"leads exited early; see {p.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError("leads instances did not start in time")
        time.sleep(0.3)
