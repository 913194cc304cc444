"""The art. 34 email to one person of a controller about a breach (leads'
``breach_subject_mail_requested``, see ``domain.breach_subjects``), once per
``(breach_id, lead_id)``.

It goes the way every email to a lead goes (``sending``): a row of the lead's history
(sealed under the owner's network scope, id ``email_id``), queued with a
``lead_email_due`` in the handler's transaction, sent by the owner's channels, reported
to leads with ``lead_email_sent``. Only the opposition list does not stop it (the law
requires it). The row's id is the once: a redelivered or repeated event finds it and does
nothing, and the sender's claim makes the send itself once.

The address is asked of leads (``breach_subject_contact``, as the mailer) when the event
is handled. A NotFound (the lead was erased or emptied meanwhile) leaves a ``cancelled``
row (``subject_gone``, nothing personal in it) and sends nothing. ``lead_status_seen``'s
row of the lead is locked first: an erasure (``lead_emails.forget_leads``) either comes
before, and nothing is queued, or waits for this transaction and deletes the row with
the rest of the lead's history.
"""
from __future__ import annotations

import logging
from typing import Any

from nameko.exceptions import MethodNotFound
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mailer import templates
from mailer.domain import breach_subjects as rules
from mailer.domain.messages import InvalidPayload, check_address
from mailer.domain.templating import Rendered
from mailer.models import lead_emails, lead_status_seen
from mailer.usecases.context import Ctx
from mailer.usecases.lead_emails import (
    CANCELLED,
    DUE_EVENT,
    QUEUED,
    opposition_index,
    sealed,
)
from mailer.usecases.sending import OWNER_GONE
from suivi_common import clock
from suivi_common.errors import NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

LE = lead_emails
S = lead_status_seen


def on_mail_requested(ctx: Ctx, payload: Any) -> str | None:
    """Queue the notice (see the module); returns ``queued`` or ``cancelled``, or None when
    it was already queued, sent or recorded as not sent."""
    mail = rules.parse_mail(payload)
    eid = mail.email_id
    ctx.session.execute(pg_insert(S).values(lead_id=mail.lead_id).on_conflict_do_nothing(
        index_elements=["lead_id"]))
    erased_at = ctx.session.execute(select(S.c.erased_at).where(S.c.lead_id == mail.lead_id)
                                    .with_for_update()).scalar()
    if ctx.session.execute(select(LE.c.id).where(LE.c.id == eid)).first() is not None:
        return None
    if erased_at is not None:
        return _not_sent(ctx, mail, rules.SUBJECT_GONE)
    try:
        contact = _contact(ctx, mail)
    except NotFound:
        return _not_sent(ctx, mail, rules.SUBJECT_GONE)
    try:
        address = check_address(str(contact.get("email") or "").strip(), rules.KIND)
    except InvalidPayload:
        return _not_sent(ctx, mail, rules.NO_ADDRESS)
    owner_id = str(contact.get("user_id") or mail.user_id)
    try:
        network_id = mail.network_id or _network_of(ctx, owner_id)
    except NotFound:  # the account is gone: so is whoever would have sent it
        return _not_sent(ctx, mail, OWNER_GONE)
    bidx = opposition_index(ctx.vault, network_id, owner_id, address)
    page = templates.compliance_notice(mail.wording.subject, mail.wording.text)
    rendered = Rendered(page.subject, page.text, page.html)
    now = clock.now()
    inserted = ctx.session.execute(pg_insert(LE).values(
        id=eid, lead_id=mail.lead_id, owner_id=owner_id, network_id=network_id,
        origin=rules.ORIGIN, status=QUEUED, due_at=now, created_at=now,
        **sealed(ctx.vault, network_id, eid, to=address, bidx=bidx, rendered=rendered,
                 locale="fr", owner_id=owner_id)).on_conflict_do_nothing(index_elements=["id"])
        .returning(LE.c.id)).first()
    if inserted is None:
        return None
    ctx.emit(DUE_EVENT, {"email_id": str(eid)})
    log.info("breach %s: notice to lead %s queued", mail.breach_id, mail.lead_id)
    return QUEUED


def _contact(ctx: Ctx, mail: rules.SubjectMail) -> dict[str, Any]:
    """leads' ``breach_subject_contact``; a leads without it (an older version during a
    rollout) is a 503: the event is retried."""
    try:
        answer = ctx.leads.breach_subject_contact(mail.breach_id, str(mail.lead_id))
    except MethodNotFound:
        raise ServiceUnavailable("leads cannot give a person's address yet "
                                 "(breach_subject_contact)") from None
    if not isinstance(answer, dict) or str(answer.get("lead_id")) != str(mail.lead_id):
        raise NotFound("leads answered for another person")
    return answer


def _network_of(ctx: Ctx, owner_id: str) -> str:
    """The owner's network (the key scope of the row) when the event does not say it."""
    network_id = ctx.accounts.get_user(owner_id).get("network_id")
    if not network_id:
        raise InvalidPayload(f"{rules.KIND}: the owner has no network to seal the email under")
    return str(network_id)


def _not_sent(ctx: Ctx, mail: rules.SubjectMail, reason: str) -> str:
    """A row that says the notice was not sent, and why; nothing personal in it."""
    now = clock.now()
    ctx.session.execute(pg_insert(LE).values(
        id=mail.email_id, lead_id=mail.lead_id, owner_id=mail.user_id,
        network_id=mail.network_id or "", origin=rules.ORIGIN, status=CANCELLED,
        cancel_reason=reason, due_at=now, created_at=now).on_conflict_do_nothing(
            index_elements=["id"]))
    log.warning("breach %s: notice to lead %s not sent (%s)", mail.breach_id, mail.lead_id,
                reason)
    return CANCELLED

