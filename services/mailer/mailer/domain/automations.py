"""Admin tool 4: "when a lead enters status X, send template T, after D hours".

Rules of the rule, as plain functions (no I/O; time is an argument):

* ``check_rule``: a status slug, a delay of 0 to ``MAX_DELAY_HOURS`` whole hours;
* ``fires_on``: which status changes start an automation. The owner's own moves do
  (``status_change``); a pipeline remap by the admin (``pipeline_change``) moves leads in
  bulk because a status was removed, and sends nothing: no lead "entered" anything;
* ``due_at``: the delay counts from the change itself, not from when the mailer heard of it;
* ``cancel_reason``: at send time, what forbids the email (the lead was erased or deleted,
  it left the status, the office is closed, the user paused automations, the rule or its
  template is gone), or None. The opposition list is checked separately, for every email.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from suivi_common.errors import Invalid

SLUG = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_DELAY_HOURS = 24 * 90
TRIGGERING_CAUSES = frozenset({"status_change"})

# cancel reasons
LEAD_GONE = "lead_gone"
LEFT_STATUS = "left_status"
OFFICE_CLOSED = "office_closed"
PAUSED = "paused"
RULE_GONE = "rule_gone"
NO_ADDRESS = "no_address"
OWNER_GONE = "owner_gone"  # the owner's account is gone: so is whoever would send it


@dataclass(frozen=True)
class Rule:
    status: str
    delay_hours: int
    enabled: bool


def check_rule(data: Mapping[str, Any], statuses: list[str] | None = None) -> Rule:
    """A rule from the admin's input; ``statuses``: the network's pipeline, when known."""
    fields: dict[str, str] = {}
    status = data.get("status")
    if not isinstance(status, str) or not SLUG.fullmatch(status):
        fields["status"] = "must be a status of the pipeline (lower-case slug)"
    elif statuses is not None and status not in statuses:
        fields["status"] = "is not a status of your network's pipeline"
    delay = data.get("delay_hours", 0)
    if delay is None:
        delay = 0
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_HOURS:
        fields["delay_hours"] = f"must be a whole number of hours from 0 to {MAX_DELAY_HOURS}"
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        fields["enabled"] = "must be true or false"
    if fields:
        raise Invalid("The automation is not valid", fields=fields)
    return Rule(str(status), int(delay), bool(enabled))


def fires_on(cause: str | None) -> bool:
    return (cause or "status_change") in TRIGGERING_CAUSES


def due_at(changed_at: datetime, delay_hours: int) -> datetime:
    return changed_at + timedelta(hours=delay_hours)


def cancel_reason(*, rule_status: str | None, lead: Mapping[str, Any] | None, owner_id: str,
                  office_open: bool, paused: bool) -> str | None:
    """Why an automation's email must not go out now (None: it may)."""
    if rule_status is None:
        return RULE_GONE
    if lead is None or str(lead.get("owner_id")) != owner_id:
        return LEAD_GONE
    if lead.get("status") != rule_status:
        return LEFT_STATUS
    if paused:
        return PAUSED
    if not office_open:
        return OFFICE_CLOSED
    if not lead.get("email"):
        return NO_ADDRESS
    return None


def parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo else None
