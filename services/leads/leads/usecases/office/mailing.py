"""What the mailer needs of the office, and what it tells it back (terms art. 3.B.ii).

* ``contact`` (the internal RPC ``lead_contact``): the few fields an e-mail to a lead
  needs, decrypted, for services only. An unknown, deleted, erased or restricted lead is
  NotFound: nobody may write to a data subject who asked to be forgotten (or to have
  their data's processing restricted).
* ``record_email`` (the mailer's ``lead_email_sent``): the e-mail goes into the lead's
  history (``via: "email"``, the subject sealed with the lead's key like every history
  value) and the lead keeps how many e-mails it was sent and when the last one left (both
  in the export). The e-mail id is the primary key of ``office_emails``: a report received
  twice, whatever its message id, counts once. The entry is on field ``email_sent``, not
  ``email`` (the lead's address): it is no edit of the lead's data and bars no refund.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from leads.domain.history import ChangeSource
from leads.models import office_emails, office_leads
from leads.usecases.office import history
from leads.usecases.office.context import Actor, OfficeCtx
from leads.usecases.office.one_lead import current_data, lead_key, load
from suivi_common.crypto import KeyDestroyed
from suivi_common.errors import Invalid, NotFound
from suivi_common.ids import parse_uuid

log = logging.getLogger(__name__)

CHANNELS = ("gmail", "smtp")
CONTACT_FIELDS = ("email", "first_name", "last_name", "city")
#: Leads per ``contacts`` question (the mailer asks for one batch of emails at a time).
MAX_CONTACTS = 500


def contact(ctx: OfficeCtx, lead_id: Any) -> dict[str, Any]:
    """``{lead_id, owner_id, network_id, email, first_name, last_name, city, status,
    office_kind}`` of an office lead (``office_kind``: purchased or personal)."""
    answer = _contact_of(ctx, load(ctx.session, lead_id))  # whoever owns it: services only
    if answer is None:
        raise NotFound("No such lead")
    return answer


def _contact_of(ctx: OfficeCtx, row: Any) -> dict[str, Any] | None:
    """``contact``'s answer for a loaded row; None when nobody may write to the lead."""
    if row.erased_at is not None or row.restricted_at is not None:  # restricted: art. 18
        return None
    try:
        data = current_data(ctx.vault, row) or {}
    except KeyDestroyed:  # the network was shredded
        return None
    return {"lead_id": str(row.id), "owner_id": row.owner_id, "network_id": row.network_id,
            **{name: data.get(name) for name in CONTACT_FIELDS},
            "status": row.status, "office_kind": row.origin}


def contacts(ctx: OfficeCtx, lead_ids: Any) -> dict[str, dict[str, Any]]:
    """``contact`` for many leads in one statement (the RPC ``lead_contacts``): the mailer
    sends its emails in batches, and one question per batch replaces one per email.
    ``{lead_id: contact}``; a lead ``contact`` would call NotFound (unknown, malformed,
    deleted, erased, restricted, shredded) is simply absent, so one gone lead does not
    refuse the others."""
    if not isinstance(lead_ids, list) or len(lead_ids) > MAX_CONTACTS:
        raise Invalid(f"lead_ids must be a list of at most {MAX_CONTACTS} ids",
                      fields={"lead_ids": "a list of ids"})
    ids = {lid for lid in (parse_uuid(x) for x in lead_ids) if lid is not None}
    if not ids:
        return {}
    t = office_leads
    rows = ctx.session.execute(select(t).where(t.c.id.in_(ids), t.c.deleted_at.is_(None)))
    found = {}
    for row in rows:
        answer = _contact_of(ctx, row)
        if answer is not None:
            found[answer["lead_id"]] = answer
    return found


class BadEmailReport(ValueError):
    """A ``lead_email_sent`` the mailer should never have sent: worth a dead letter."""


def _parse(payload: Mapping[str, Any]) -> tuple[uuid.UUID, str, str, str, datetime, str]:
    try:
        lead_id = uuid.UUID(str(payload["lead_id"]))
        user_id, email_id = str(payload["user_id"]), str(payload["email_id"])
        subject, channel = payload["subject"], payload["channel"]
        sent_at = datetime.fromisoformat(str(payload["sent_at"]))
    except (KeyError, ValueError) as exc:
        raise BadEmailReport(f"lead_email_sent: {exc!r}") from None
    if (not isinstance(subject, str) or channel not in CHANNELS or sent_at.tzinfo is None
            or not email_id or len(email_id) > 100):
        raise BadEmailReport("lead_email_sent: subject, channel, sent_at or email_id invalid")
    return lead_id, user_id, email_id, subject, sent_at, str(channel)


def record_email(ctx: OfficeCtx, payload: Mapping[str, Any]) -> bool:
    """Record one e-mail sent to a lead; False if it was recorded already (or concerns
    a lead of another owner, which is logged and left alone)."""
    lead_id, user_id, email_id, subject, sent_at, channel = _parse(payload)
    row = load(ctx.session, lead_id, lock=True, with_deleted=True)
    if row.owner_id != user_id:
        log.warning("lead_email_sent %s: lead %s is not %s's; ignored", email_id, lead_id,
                    user_id)
        return False
    new = ctx.session.execute(pg_insert(office_emails).values(
        email_id=email_id, lead_id=row.id, channel=channel, sent_at=sent_at,
        recorded_at=ctx.now).on_conflict_do_nothing().returning(office_emails.c.email_id)).first()
    if new is None:
        return False
    t = office_leads
    ctx.session.execute(update(t).where(t.c.id == row.id).values(
        emails_sent=t.c.emails_sent + 1,
        last_emailed_at=func.greatest(t.c.last_emailed_at, sent_at)))
    sender = OfficeCtx(ctx.session, ctx.vault, sent_at, ctx.emit,
                       Actor(user_id, ChangeSource.SYSTEM, row.network_id))
    try:
        key = lead_key(ctx.vault, row)  # None once deleted or erased: nothing readable kept
    except KeyDestroyed:
        key = None
    history.write(ctx.session, [history.entry(sender, row.id, key, "email_sent", None,
                                              subject, "email")])
    return True
