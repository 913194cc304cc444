"""The lead's objection (GDPR art. 21) through its personal unsubscribe link (RFC 8058).

``POST /unsubscribe/{token}`` (a mail client's one-click, or the confirmation page's button)
records it; a GET only shows that page, so a link scanner cannot unsubscribe anyone. The
objection is a blind index of the address for that owner: it outlives the lead's erasure,
and every later email from that owner to that address is blocked, the ones already waiting
included. Recording it twice is a no-op.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mailer.domain import unsubscribe
from mailer.models import email_oppositions, lead_emails
from mailer.usecases.context import Ctx
from mailer.usecases.lead_emails import BLOCKED, QUEUED, SCHEDULED
from suivi_common import clock
from suivi_common.errors import NotFound


def _objection(ctx: Ctx, token: Any) -> unsubscribe.Objection:
    found = unsubscribe.read_token(ctx.db.keyring.subkey(unsubscribe.PURPOSE), token)
    if found is None:
        raise NotFound("No such unsubscribe link", code="unsubscribe_link_unknown")
    return found


def check_link(ctx: Ctx, token: Any) -> dict[str, Any]:
    """Whether the link is genuine (for the confirmation page); records nothing."""
    _objection(ctx, token)
    return {"valid": True}


def record(ctx: Ctx, token: Any) -> dict[str, Any]:
    objection = _objection(ctx, token)
    now = clock.now()
    ctx.session.execute(pg_insert(email_oppositions).values(
        owner_id=objection.owner_id, address_bidx=objection.address_bidx, recorded_at=now)
        .on_conflict_do_nothing(index_elements=["owner_id", "address_bidx"]))
    le = lead_emails
    ctx.session.execute(update(le).where(
        le.c.owner_id == objection.owner_id, le.c.to_bidx == objection.address_bidx,
        le.c.status.in_((SCHEDULED, QUEUED))).values(status=BLOCKED))
    return {"unsubscribed": True}
