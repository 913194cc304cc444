"""Which email an accounts event asks for, and the MIME message that carries it.

Plain Python: no broker, no database, no config; time and settings are arguments.

* ``request_for`` checks an event's payload and renders its email; a payload that can
  never be sent (no address, a non-http link, ...) raises ``InvalidPayload``, which the
  reliable handler turns into retries and then a dead letter staff can inspect.
* invitation and reset events carry a reference to their set-password link, never the
  link (a one-time token must not sit in events or dead letters): ``link_ref_of`` reads
  it, the service fetches the link from accounts when it sends, and ``with_link`` adds it
  to the payload ``request_for`` renders;
* ``smtp_message_id`` derives the ``Message-ID`` header from the event's message id:
  if the same event is ever mailed twice (the SMTP server accepted it but the commit
  that records it failed), both copies carry the same id and are recognisably one mail.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parseaddr
from typing import Any

from mailer import templates
from mailer.domain import mime
from mailer.templates import Rendered

INVITATION = "invitation"
PASSWORD_RESET = "password_reset"
TERMS_NOTICE = "terms_notice"
LEAD_ERASED = "lead_erased"
REFUND_DECIDED = "refund_decided"
ABSENCE_DECIDED = "absence_decided"
PAYMENT_VALIDATED = "payment_validated"
PAYMENT_FAILED = "payment_failed"
SUBSCRIPTION_ENDING = "subscription_ending"
PLAN_EXTENDED = "plan_extended"
EMAIL_CHANGE = "email_change"  # the confirmation link, to the new address
EMAIL_CHANGED = "email_changed"  # the notice, to the old address
PASSWORD_CHANGED = "password_changed"
FACTOR_RESET = "second_factor_reset"

# event type -> kind of email. Compliance's notices to controllers, whose wording comes in
# the event, have their own path (``usecases.compliance_notices``) to the same ledger.
KIND_OF_EVENT = {
    "user_invited": INVITATION,
    "password_reset_requested": PASSWORD_RESET,
    "terms_notice": TERMS_NOTICE,
    "lead_erased": LEAD_ERASED,
    "refund_claim_decided": REFUND_DECIDED,
    "absence_approved": ABSENCE_DECIDED,
    "absence_rejected": ABSENCE_DECIDED,
    "payment_validated": PAYMENT_VALIDATED,
    "payment_failed": PAYMENT_FAILED,
    "subscription_ending_soon": SUBSCRIPTION_ENDING,
    "plan_changed": PLAN_EXTENDED,
    "email_change_requested": EMAIL_CHANGE,
    "email_changed": EMAIL_CHANGED,
    "password_changed": PASSWORD_CHANGED,
    "second_factor_reset": FACTOR_RESET,
}

#: Kinds whose event names the user only: the address and first name are asked of accounts.
ADDRESSED_BY_ACCOUNTS = frozenset({LEAD_ERASED, REFUND_DECIDED, ABSENCE_DECIDED,
                                   PAYMENT_VALIDATED, PAYMENT_FAILED, SUBSCRIPTION_ENDING,
                                   PLAN_EXTENDED, PASSWORD_CHANGED, FACTOR_RESET})

#: Kinds whose email carries a one-time set-password link (fetched from accounts).
LINK_KINDS = (INVITATION, PASSWORD_RESET, EMAIL_CHANGE)

_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+\.[^@\s<>()\[\],;:\"\\]+")
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_DOMAIN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")


class InvalidPayload(ValueError):
    """The event cannot become an email. The message names fields, never their values."""


@dataclass(frozen=True)
class MailRequest:
    kind: str
    user_id: str
    to: str
    rendered: Rendered
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        """A one-time link past its expiry is dead: mailing it would only confuse."""
        return self.expires_at is not None and self.expires_at <= now


def _text(payload: Mapping[str, Any], key: str, kind: str, required: bool = True) -> str:
    value = payload.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidPayload(f"{kind}: the event has no {key}")
        return ""
    if not isinstance(value, str | int):
        raise InvalidPayload(f"{kind}: {key} is not text")
    return str(value).strip()


def check_address(address: str, kind: str) -> str:
    if (len(address) > 254 or not _ADDRESS.fullmatch(address)
            or not address.isprintable()):
        raise InvalidPayload(f"{kind}: the email address is not valid")
    return address


def parse_instant(value: str, kind: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidPayload(f"{kind}: expires_at is not an ISO date-time") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def request_for(event_type: str, payload: Mapping[str, Any], login_url: str) -> MailRequest:
    """Check an accounts event's payload and render the email it asks for."""
    kind = KIND_OF_EVENT.get(event_type)
    if kind is None:
        raise InvalidPayload(f"no email for event {event_type!r}")
    if not isinstance(payload, Mapping):
        raise InvalidPayload(f"{kind}: the event payload is not an object")
    user_id = _text(payload, "user_id", kind)
    to = check_address(_text(payload, "email", kind), kind)
    first_name = _text(payload, "first_name", kind, required=False)
    try:
        if kind in _NOTICES:
            return MailRequest(kind, user_id, to, _NOTICES[kind](event_type, payload, first_name,
                                                                 login_url))
        if kind == TERMS_NOTICE:
            version = _text(payload, "version", kind)
            rendered = templates.terms_notice(first_name, version, login_url)
            return MailRequest(kind, user_id, to, rendered)
        if kind == EMAIL_CHANGED:
            return MailRequest(kind, user_id, to, templates.email_changed(first_name, login_url))
        expires_at = parse_instant(_text(payload, "expires_at", kind), kind)
        if kind == EMAIL_CHANGE:
            rendered = templates.email_change(first_name, _text(payload, "confirm_url", kind),
                                              expires_at)
            return MailRequest(kind, user_id, to, rendered, expires_at)
        url = _text(payload, "set_password_url", kind)
        render = templates.invitation if kind == INVITATION else templates.password_reset
        return MailRequest(kind, user_id, to, render(first_name, url, expires_at), expires_at)
    except InvalidPayload:
        raise
    except ValueError as exc:
        # a template refusal (a link that is not http(s)); never echo the link itself
        raise InvalidPayload(f"{kind}: {exc}") from None


def wanted(event_type: str, payload: Any) -> bool:
    """Whether this event asks for an email at all (``plan_changed`` does only when a sales
    closure lengthened the plan)."""
    if event_type == "plan_changed":
        return isinstance(payload, Mapping) and payload.get("reason") == "sales_closure"
    return event_type in KIND_OF_EVENT


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


_NOTICES: dict[str, Any] = {
    LEAD_ERASED: lambda e, p, name, url: templates.lead_erased(name, url),
    REFUND_DECIDED: lambda e, p, name, url: templates.refund_claim_decided(
        name, p.get("status") == "approved", str(p.get("cause") or ""), url),
    ABSENCE_DECIDED: lambda e, p, name, url: templates.absence_decided(
        name, str(p.get("kind") or "planned"), e == "absence_approved",
        str(p.get("start_date") or ""), str(p.get("end_date") or ""),
        _int(p.get("records_restored")), str(p.get("comment") or ""), url),
    PAYMENT_VALIDATED: lambda e, p, name, url: templates.payment_validated(
        name, p.get("amount_cents"), str(p.get("order_type") or ""), url),
    PAYMENT_FAILED: lambda e, p, name, url: templates.payment_failed(
        name, str(p.get("order_type") or ""), url),
    SUBSCRIPTION_ENDING: lambda e, p, name, url: templates.subscription_ending(
        name, str(p.get("ends_on") or ""), bool(p.get("plans_running")), url),
    PLAN_EXTENDED: lambda e, p, name, url: templates.plan_extended(
        name, str(p.get("end_date") or ""), url),
    PASSWORD_CHANGED: lambda e, p, name, url: templates.password_changed(
        name, str(p.get("how") or "change"), url),
    FACTOR_RESET: lambda e, p, name, url: templates.second_factor_reset(name, url),
}


def link_ref_of(event_type: str, payload: Any) -> str | None:
    """The set-password link reference an event carries, or None if its email has no link."""
    kind = KIND_OF_EVENT.get(event_type)
    if kind not in LINK_KINDS:
        return None
    if not isinstance(payload, Mapping):
        raise InvalidPayload(f"{kind}: the event payload is not an object")
    return _text(payload, "link_ref", str(kind))


def with_link(payload: Mapping[str, Any], link: Mapping[str, Any]) -> dict[str, Any]:
    """The payload to render: the event's, plus the link and its expiry as accounts gave them."""
    return {**payload, "set_password_url": link.get("set_password_url"),
            "confirm_url": link.get("url"), "expires_at": link.get("expires_at")}


def smtp_message_id(event_message_id: str, kind: str, sender: str) -> str:
    """``<event-id.kind@sender-domain>``, the same for every send of one event."""
    token = event_message_id
    if not _SAFE_ID.fullmatch(token):
        token = hashlib.sha256(token.encode()).hexdigest()[:40]
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    if not _DOMAIN.fullmatch(domain):
        domain = "suivi.invalid"
    return f"<{token}.{kind}@{domain}>"


def build_message(request: MailRequest, sender: str, message_id: str,
                  now: datetime) -> mime.Message:
    """The message (``domain.mime``: written as bytes, not through ``email.message``)."""
    msg = mime.Message(request.rendered.text, request.rendered.html, language="fr")
    msg["Subject"] = request.rendered.subject
    msg["From"] = sender
    msg["To"] = request.to
    msg["Date"] = format_datetime(now.astimezone(UTC))
    msg["Message-ID"] = message_id
    # RFC 3834: an automatic message; asks auto-responders not to answer it
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Suivi-Mail-Kind"] = request.kind
    return msg
