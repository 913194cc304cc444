"""The end of a controller's contract, the mailer's part (annex IV.12; compliance README):
the copies of the e-mails the controller's office sent to their leads (``lead_emails``).

* ``controller_data_requested`` in: the controller's rows still under the network's key
  are moved to theirs (``controller_keys``), then every e-mail copy that holds something
  (address, subject, bodies) is reported with ``controller_data_reported``
  (``data = {emails: [...]}``; compliance puts it in the archive). A read: a repeated
  request reads again.
* ``controller_shred_requested`` in: every copy destroyed. The controller's rows are
  deleted (``lead_emails.forget_leads``, which also marks their leads erased so nothing is
  queued for them again), their opposition list too (it names no one but is theirs), then
  their keys are shredded (``controller_scope(network, user)`` in every network they sent
  from, ``Vault.destroy_controller``): a backup's copy of those rows, taken once they were
  under the controller's key, cannot be read either. Recorded once
  (``controller_shreds``): a repeated request reports the same counts and key ids again,
  without acting. Leads' ``office_leads_erased`` of the same end of contract finds nothing
  left to delete.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Any

from sqlalchemy import delete, func, select

from mailer.models import controller_shreds, email_oppositions, lead_emails
from mailer.usecases import controller_keys
from mailer.usecases.context import Ctx
from mailer.usecases.lead_emails import forget_leads, opened
from suivi_common import clock
from suivi_common import end_of_contract as eoc
from suivi_common.crypto import KeyDestroyed

log = logging.getLogger(__name__)

SERVICE = "mailer"
LE = lead_emails


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def controller_data(ctx: Ctx, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """The controller's e-mail copies that hold something, oldest first."""
    emails = []
    for row in ctx.session.execute(select(LE).where(LE.c.owner_id == user_id,
                                                    LE.c.to_address.is_not(None))
                                   .order_by(LE.c.created_at, LE.c.id)):
        try:
            to, rendered = opened(ctx.vault, row)
        except KeyDestroyed:  # its network's key is gone: nothing left to give
            continue
        emails.append({
            "email_id": str(row.id), "lead_id": str(row.lead_id), "origin": row.origin,
            "status": row.status, "channel": row.channel, "to": to,
            "subject": rendered.subject if rendered else None,
            "body_text": rendered.text if rendered else None,
            "created_at": _iso(row.created_at), "sent_at": _iso(row.sent_at)})
    return {"emails": emails}


def on_data_requested(ctx: Ctx, payload: Any) -> None:
    """``controller_data_requested``: re-key the controller's rows, read them, report."""
    ctx.emit(eoc.DATA_EVENT, eoc.data_report(ctx.session, controller_shreds, SERVICE, payload,
                                             partial(controller_data, ctx),
                                             partial(controller_keys.rekey_owner, ctx)))


def _count(ctx: Ctx, table: Any, *where: Any) -> int:
    return int(ctx.session.execute(select(func.count()).select_from(table).where(*where))
               .scalar() or 0)


def on_shred_requested(ctx: Ctx, payload: Any) -> None:
    """``controller_shred_requested``: destroy, once; report (again, on a repeat)."""
    contract_id, user_id = eoc.contract_of(payload)
    ctx.lock(f"eoc:{user_id}")
    done = eoc.shred_of(ctx.session, controller_shreds, user_id)
    if done is None:
        mine = LE.c.owner_id == user_id
        counts = {"emails": _count(ctx, LE, mine, LE.c.to_address.is_not(None)),
                  "oppositions": _count(ctx, email_oppositions,
                                        email_oppositions.c.owner_id == user_id),
                  # never moved to the controller's key: deleted here, but a backup's copy
                  # is under the network's key (see ``controller_keys``)
                  "under_network_key": controller_keys.legacy_count(ctx, user_id)}
        networks = set(ctx.session.execute(select(LE.c.network_id).where(mine).distinct())
                       .scalars())
        lead_ids = list(ctx.session.execute(select(LE.c.lead_id).where(mine).distinct())
                        .scalars())
        forget_leads(ctx, lead_ids)
        ctx.session.execute(delete(LE).where(mine))  # none left, as a rule
        ctx.session.execute(delete(email_oppositions).where(
            email_oppositions.c.owner_id == user_id))
        keys = ctx.vault.destroy_controller(user_id, networks)
        done = eoc.record_shred(ctx.session, controller_shreds, user_id=user_id,
                                contract_id=contract_id, at=clock.now(), counts=counts,
                                keys=keys)
        log.info("end of contract %s: controller %s's e-mail copies shredded (%s, %d key(s))",
                 contract_id, user_id, counts, len(keys))
    ctx.emit(eoc.SHREDDED_EVENT, eoc.shredded_report(SERVICE, contract_id, done))
