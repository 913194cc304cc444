"""What the admin, staff and compliance pages share: their one-shot messages, a form
action that re-renders its page with the service's refusal, and form-field parsing.

The flash messages are added to ``gateway.web.http.FLASH`` here, so the pages of these
roles stay in their own files.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Response

from gateway.web.http import FLASH, N_, Page, form_errors
from suivi_common.errors import Invalid, SuiviError

PARIS = ZoneInfo("Europe/Paris")

FLASH.update({
    "member_invited": N_("Invitation sent."),
    "level_saved": N_("Access level saved."),
    "level_deleted": N_("Access level deleted."),
    "level_assigned": N_("Access level assigned."),
    "pipeline_saved": N_("Pipeline saved."),
    "template_saved": N_("Template saved."),
    "template_deleted": N_("Template deleted."),
    "automation_saved": N_("Automation saved."),
    "automation_deleted": N_("Automation deleted."),
    "stat_model_saved": N_("Statistics model saved."),
    "stat_model_deleted": N_("Statistics model deleted."),
    "settings_saved": N_("Settings saved."),
    "payment_validated": N_("Payment validated."),
    "refund_recorded": N_("Refund recorded."),
    "decision_recorded": N_("Decision recorded."),
    "user_status_changed": N_("Account status changed."),
    "request_registered": N_("Request registered."),
    "request_processing": N_("Request sent to the services."),
    "request_updated": N_("Request updated."),
    "breach_declared": N_("Breach declared; the controllers are being notified."),
    "breach_updated": N_("Breach updated."),
})


def attempt(p: Page, action: Callable[[], Any], done: Callable[[], Response],
            again: Callable[[int, dict[str, str]], Response], form: str = "_top") -> Response:
    """Run ``action``; on a refusal (400, 409, ...) show the page again with the
    readable message under ``form``, else ``done()``. A 401 or a 404 stays the wrapper's
    (the login page, the 404 page)."""
    try:
        action()
    except Invalid as exc:
        fields = form_errors(exc)
        return again(400, {form: " ".join(fields.values()) or exc.message, **fields})
    except SuiviError as exc:
        if exc.status in (401, 404):
            raise
        return again(exc.status, {form: p.error_text(exc)})
    return done()


def lines(text: str) -> list[str]:
    """A textarea or a comma list as its non-empty items."""
    return [item.strip() for item in text.replace(",", "\n").splitlines() if item.strip()]


def pairs(text: str) -> dict[str, str]:
    """``old=new`` lines (the pipeline's remap) as a dict."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            if key.strip():
                out[key.strip()] = value.strip()
    return out


def paris_instant(value: str) -> str:
    """A ``datetime-local`` field (Paris time, no offset) as an ISO instant with its
    offset, as the JSON schemas want; an unreadable value is passed on for the schema
    to refuse."""
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment.isoformat()


def checked(p: Page, name: str) -> bool:
    return p.form.get(name) in ("1", "on", "true")
