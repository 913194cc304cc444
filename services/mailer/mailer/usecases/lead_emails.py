"""Emails to one lead from its owner's office, and the lead's email history.

* Only the lead's owner may send or read (another user's lead is a 404, like a missing one):
  leads answers who owns the lead (``lead_contact``), the mailer compares it to the caller.
* The history is the lead's personal data: the address, subject and bodies are encrypted
  under the owner's controller key (``seal_scope``; rows written before it under the
  network's, until ``controller_keys`` moves them), the opposition index under the
  network's (``key_scope``), and every row of the lead is deleted when leads
  announces its erasure (``lead_erased``, or ``office_leads_erased`` for leads the owner
  deleted or retention ended, without the owner's notice).
* An office send is rendered when it is queued (the history shows exactly what was sent)
  and handed to the sender through the outbox (``lead_email_due``), so the answer (202) never
  waits for SMTP, and nothing queued is lost.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from mailer.domain import breach_subjects, templating, unsubscribe
from mailer.domain.templating import Rendered, Source
from mailer.models import email_oppositions, lead_emails, lead_status_seen
from mailer.usecases import templates
from mailer.usecases.contacts import contact_of_owner, lead_contact  # noqa: F401  (re-exported)
from mailer.usecases.context import Ctx, member, parse_id
from suivi_common import clock, paging
from suivi_common.crypto import Vault, controller_scope
from suivi_common.database import rows_affected
from suivi_common.errors import Conflict, Forbidden, Invalid

LE = lead_emails
#: Names this listing's cursors (another listing's cursor is refused).
CURSOR_KIND = "lead-emails"
SCHEDULED, QUEUED, SENDING, SENT = "scheduled", "queued", "sending", "sent"
FAILED, BLOCKED, CANCELLED = "failed", "blocked_opposition", "cancelled"
OFFICE, AUTOMATION = "office", "automation"
DUE_EVENT = "lead_email_due"
#: Leads erased per statement (``office_leads_erased`` comes in leads' batches).
ERASE_BATCH = 1000
#: What the office sees: waiting, whatever for, is "queued".
API_STATUS = {SCHEDULED: QUEUED, QUEUED: QUEUED, SENDING: QUEUED, SENT: SENT, FAILED: FAILED,
              BLOCKED: BLOCKED}


def key_scope(network_id: str) -> str:
    """The key of the opposition index (``to_bidx``, ``email_oppositions``): the owner's
    network's, for good. An index cannot be re-keyed (its address is not kept), and the
    opposition list must keep matching; its value names the owner, so two owners' indexes
    of one address differ anyway."""
    return network_id


def seal_scope(network_id: str, owner_id: str) -> str:
    """The key a new row's sealed columns (address, subject, bodies) are under: the owner's
    controller key, as leads seals the office, so that the end of contract shreds exactly
    this owner's copies (annex IV.12)."""
    return controller_scope(str(network_id), str(owner_id))


def scope_of(row: Any) -> str:
    """The key a row's sealed columns are under: ``key_scope``, or (None) its network's, a
    row written before controller keys and not re-keyed yet (``controller_keys``)."""
    return row.key_scope or row.network_id


def opposition_index(vault: Vault, network_id: str, owner_id: str, address: str) -> bytes:
    bidx = vault.blind_index(key_scope(network_id), unsubscribe.INDEX_KIND,
                             unsubscribe.index_value(owner_id, address))
    assert bidx is not None
    return bidx


def unsubscribe_url(ctx: Ctx, owner_id: str, bidx: bytes) -> str:
    key = ctx.db.keyring.subkey(unsubscribe.PURPOSE)
    return unsubscribe.url(ctx.settings.public_url, unsubscribe.make_token(key, owner_id, bytes(bidx)))


def is_opposed(session: Session, owner_id: str, bidx: bytes | None) -> bool:
    if bidx is None:
        return False
    return session.execute(select(email_oppositions.c.recorded_at).where(
        email_oppositions.c.owner_id == owner_id,
        email_oppositions.c.address_bidx == bytes(bidx))).first() is not None


def sealed(vault: Vault, network_id: str, email_id: uuid.UUID, *, to: str, bidx: bytes,
           rendered: Rendered, locale: str, owner_id: str | None = None) -> dict[str, Any]:
    """The encrypted columns of a rendered email, and ``key_scope``: under the owner's key
    (``seal_scope``) when ``owner_id`` is given, as every writer does; without it, under
    the network's with ``key_scope`` None, as rows were before controller keys (tests make
    such rows; ``controller_keys`` moves them). A caller writing ``key_scope`` must write
    these columns with it."""
    scope = seal_scope(network_id, owner_id) if owner_id is not None else network_id

    def enc(column: str, value: str | None) -> bytes | None:
        return vault.encrypt(scope, "lead_emails", column, email_id, value)

    return {"to_address": enc("to_address", to), "to_bidx": bidx,
            "subject": enc("subject", rendered.subject), "body_text": enc("body_text", rendered.text),
            "body_html": enc("body_html", rendered.html), "locale": locale,
            "key_scope": scope if owner_id is not None else None}


def opened(vault: Vault, row: Any) -> tuple[str | None, Rendered | None]:
    """The address and the rendered email of a row (None before an automation renders it)."""
    if row.subject is None:
        return None, None
    scope = scope_of(row)

    def dec(column: str) -> str | None:
        return vault.decrypt(scope, "lead_emails", column, row.id, getattr(row, column))

    return dec("to_address"), Rendered(dec("subject") or "", dec("body_text") or "", dec("body_html"))


def render_for(ctx: Ctx, source: Source, contact: Mapping[str, Any], owner_id: str,
               user: Mapping[str, Any], network_name: str | None = None
               ) -> tuple[str, bytes, Rendered]:
    """(address, opposition index, rendered email) of ``source`` for this lead
    (``network_name``: when the caller has read it already)."""
    address = str(contact.get("email") or "").strip()
    if not address:
        raise Conflict("This lead has no email address", code="lead_has_no_email")
    network_id = str(contact["network_id"])
    bidx = opposition_index(ctx.vault, network_id, owner_id, address)
    if network_name is None:
        network_name = templates.network_name(ctx.session, network_id)
    values = templating.context(contact, user, network_name, unsubscribe_url(ctx, owner_id, bidx))
    return address, bidx, templating.render(source, values)


def _free_text(subject: Any, body: Any) -> Source:
    fields = {}
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 500:
        fields["subject"] = "is required (at most 500 characters)"
    elif any(not ch.isprintable() for ch in subject):
        fields["subject"] = "must be one line of text"
    if not isinstance(body, str) or not body.strip() or len(body) > 20_000:
        fields["body"] = "is required (at most 20000 characters)"
    if fields:
        raise Invalid("Give a template_id, or a subject and a body", fields=fields)
    source = Source(str(subject).strip(), str(body))
    try:
        templating.check(source)
    except Invalid as exc:  # the office's field is "body"
        raise Invalid(exc.message, fields={("body" if k == "body_text" else k): v
                                           for k, v in (exc.fields or {}).items()},
                      code=exc.code) from None
    return source


def queue_office_email(ctx: Ctx, lead_id: Any, template_id: Any = None, subject: Any = None,
                       body: Any = None) -> dict[str, Any]:
    """``POST /api/leads/{id}/emails``: queue one email to the caller's own lead."""
    p = member(ctx.principal)
    assert p.network_id
    if template_id not in (None, "") and (subject is not None or body is not None):
        raise Invalid("Give either a template_id or a subject and a body",
                      fields={"template_id": "not with subject and body"})
    contact = contact_of_owner(ctx, lead_id, p.user_id)
    if not ctx.accounts.office_active(p.user_id):
        raise Forbidden("This office is closed: a subscription is needed to reach its leads",
                        code="office_inactive")
    if template_id not in (None, ""):
        row, source = templates.load_source(ctx.session, p.network_id, template_id)
        tid, locale = row.id, row.locale
    else:
        source, tid, locale = _free_text(subject, body), None, "fr"
    user = ctx.accounts.get_user(p.user_id)
    address, bidx, rendered = render_for(ctx, source, contact, p.user_id, user)
    network_id = str(contact["network_id"])
    email_id, now = uuid.uuid4(), clock.now()
    status = BLOCKED if is_opposed(ctx.session, p.user_id, bidx) else QUEUED
    ctx.session.execute(LE.insert().values(
        id=email_id, lead_id=uuid.UUID(str(contact["lead_id"])), owner_id=p.user_id,
        network_id=network_id, origin=OFFICE, template_id=tid, status=status, due_at=now,
        created_at=now, **sealed(ctx.vault, network_id, email_id, to=address, bidx=bidx,
                                 rendered=rendered, locale=locale, owner_id=p.user_id)))
    if status == QUEUED:
        ctx.emit(DUE_EVENT, {"email_id": str(email_id)})
    return {"id": str(email_id), "status": API_STATUS[status]}


def _item(vault: Vault, row: Any) -> dict[str, Any]:
    _, rendered = opened(vault, row)
    return {"id": str(row.id), "status": API_STATUS.get(row.status, row.status),
            "origin": row.origin, "subject": rendered.subject if rendered else None,
            "body_text": rendered.text if rendered else None, "channel": row.channel,
            "template_id": str(row.template_id) if row.template_id else None,
            "automation_id": str(row.automation_id) if row.automation_id else None,
            "created_at": row.created_at.isoformat(),
            "scheduled_for": row.due_at.isoformat() if row.status == SCHEDULED else None,
            "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            "error": row.error if row.status == FAILED else None}


def list_lead_emails(ctx: Ctx, lead_id: Any, cursor: object, limit: object) -> dict[str, Any]:
    p = member(ctx.principal)
    size = paging.check_limit(limit)
    contact = contact_of_owner(ctx, lead_id, p.user_id)
    query = select(LE).where(LE.c.lead_id == uuid.UUID(str(contact["lead_id"])),
                             LE.c.owner_id == p.user_id, LE.c.status != CANCELLED)
    return paging.listing(ctx.session, query, LE, cursor, size, partial(_item, ctx.vault),
                          newest_first=True, kind=CURSOR_KIND)


def lead_opposition(ctx: Ctx, lead_id: Any) -> dict[str, Any]:
    """Whether the lead objected to this owner's emails (GDPR art. 21), for the office."""
    p = member(ctx.principal)
    contact = contact_of_owner(ctx, lead_id, p.user_id)
    address = str(contact.get("email") or "").strip()
    if not address:
        return {"opposed": False, "recorded_at": None}
    bidx = opposition_index(ctx.vault, str(contact["network_id"]), p.user_id, address)
    at = ctx.session.execute(select(email_oppositions.c.recorded_at).where(
        email_oppositions.c.owner_id == p.user_id,
        email_oppositions.c.address_bidx == bidx)).scalar()
    return {"opposed": at is not None, "recorded_at": at.isoformat() if at else None}


def on_lead_erased(ctx: Ctx, payload: Mapping[str, Any]) -> int:
    """leads' ``lead_erased``: the lead's email history goes with it (oppositions stay: they
    hold no address). Nothing is ever scheduled for it again. Idempotent."""
    try:
        lid = uuid.UUID(str(payload.get("lead_id")))
    except ValueError:
        return 0
    return forget_leads(ctx, [lid])


def on_office_leads_erased(ctx: Ctx, payload: Mapping[str, Any]) -> int:
    """leads' ``office_leads_erased`` (the owner deleted them, or retention): as
    ``lead_erased`` for each lead, and the owner is not mailed (that notice says the person
    asked). Idempotent."""
    return forget_leads(ctx, breach_subjects.erased_lead_ids(payload))


def forget_leads(ctx: Ctx, lead_ids: list[uuid.UUID]) -> int:
    """Every email of these leads goes, waiting ones included (nothing is left to send), and
    ``lead_status_seen`` marks them erased, first: that row lock orders this against a
    breach notice being queued for one of them (``breach_subjects``). Returns the rows
    deleted."""
    now, deleted = clock.now(), 0
    ids = sorted(set(lead_ids))
    for start in range(0, len(ids), ERASE_BATCH):
        chunk = ids[start:start + ERASE_BATCH]
        ctx.session.execute(pg_insert(lead_status_seen)
                            .values([{"lead_id": lid, "erased_at": now} for lid in chunk])
                            .on_conflict_do_update(index_elements=["lead_id"],
                                                   set_={"erased_at": now}))
        deleted += rows_affected(ctx.session.execute(delete(LE).where(LE.c.lead_id.in_(chunk))))
    return deleted


def subject_history(ctx: Ctx, lead_id: Any) -> list[dict[str, Any]]:
    """Every email sent to the lead, decrypted: for a data-subject access request (the
    tombstones an erasure left hold nothing to show)."""
    lid = parse_id(lead_id, "lead")
    rows = ctx.session.execute(select(LE).where(LE.c.lead_id == lid, LE.c.status == SENT,
                                                LE.c.erased_at.is_(None))
                               .order_by(LE.c.sent_at)).all()
    out = []
    for row in rows:
        address, rendered = opened(ctx.vault, row)
        assert rendered is not None
        out.append({"id": str(row.id), "to": address, "subject": rendered.subject,
                    "body_text": rendered.text, "sent_at": row.sent_at.isoformat(),
                    "channel": row.channel, "owner_id": row.owner_id})
    return out
