"""The monthly stale-lead reminder (issue 12 §2, terms 3.B.iv), from leads'
``stale_leads_reminder_due {user_id, network_id, month, inactive_since, months, count}``:
one email to the owner with the count and a link to their office filtered on the leads
with no activity (``{PUBLIC_URL}/leads?inactive_since=YYYY-MM-DD``, the view of
``GET /api/leads?inactive_since=``, where ``POST /api/leads/bulk-delete`` deletes them in
one step).

Through the system-email path (``system_emails.deliver_once``: the one SMTP adapter, its
ledger, its ``Message-ID``). The ledger key is the owner and the month, not the event's
message id, so the owner gets one reminder a month even if leads ever emitted the fact
twice (an advisory lock on the key serialises two such events). The event names the
user only: the address and first name are asked of accounts when the mail goes out (a
user accounts no longer knows gets nothing). A payload that cannot be mailed raises
``InvalidPayload`` (retries, then a dead letter).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from mailer import templates
from mailer.domain.messages import InvalidPayload, MailRequest, check_address
from mailer.usecases import system_emails
from mailer.usecases.context import Ctx
from suivi_common.database import xact_lock
from suivi_common.errors import NotFound

log = logging.getLogger(__name__)

KIND = "stale_leads_reminder"


@dataclass(frozen=True)
class Reminder:
    user_id: str
    month: date
    inactive_since: date
    months: int
    count: int

    @property
    def key(self) -> str:
        """The ledger key: one reminder per owner and month."""
        return f"stale-leads:{self.month.isoformat()}:{self.user_id}"


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPayload(f"{KIND}: {field} is not a count")
    return value


def _day(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidPayload(f"{KIND}: {field} is not a date") from None


def parse(payload: Any) -> Reminder:
    if not isinstance(payload, Mapping):
        raise InvalidPayload(f"{KIND}: the event payload is not an object")
    user_id = payload.get("user_id")
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 64:
        raise InvalidPayload(f"{KIND}: the event has no user_id")
    return Reminder(user_id, _day(payload.get("month"), "month"),
                    _day(payload.get("inactive_since"), "inactive_since"),
                    _count(payload.get("months"), "months"), _count(payload.get("count"), "count"))


def office_url(public_url: str, inactive_since: date) -> str:
    """The office filtered on the stale leads (the web view of ``GET /api/leads``)."""
    return f"{public_url.rstrip('/')}/leads?{urlencode({'inactive_since': inactive_since.isoformat()})}"


def on_reminder_due(ctx: Ctx, smtp: Any, payload: Any) -> bool:
    """Mail the reminder once per owner and month; True when it went out now."""
    reminder = parse(payload)
    if reminder.count == 0:
        return False
    # two events of one month (leads emitted it twice) must not both find the ledger empty
    xact_lock(ctx.session, f"mailer-stale-leads:{reminder.key}")
    if system_emails.already_sent(ctx, reminder.key):
        log.info("%s email for user %s already sent", KIND, reminder.user_id)
        return False
    try:
        user = ctx.accounts.get_user(reminder.user_id)
    except NotFound:
        log.warning("%s email for user %s not sent: no such user", KIND, reminder.user_id)
        return False
    to = check_address(str(user.get("email") or ""), KIND)
    rendered = templates.stale_leads_reminder(
        user.get("first_name"), reminder.count, reminder.months,
        reminder.inactive_since.isoformat(), office_url(ctx.settings.public_url,
                                                        reminder.inactive_since))
    return system_emails.deliver_once(ctx, smtp, reminder.key,
                                      MailRequest(KIND, reminder.user_id, to, rendered))
