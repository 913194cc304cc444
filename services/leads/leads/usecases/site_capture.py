"""The capture form of a member's site (issue 13 §2): a visitor's details become a
personal lead in the member's office, origin ``site``, with what they consented to.

The gateway checks what needs no database (the honeypot, the form's signed minimum fill
time, the notice still being the one shown) and then calls here as itself, naming the
site's owner from accounts' answer. Here:

* the rate limit per source address (``capture_limits.site_limits``), counted in a
  transaction of its own before anything is stored, so a refused form stored nothing;
* the owner's office must be open (the office's one check, ``access.require_office_open``);
* the fields go through the capture pipeline (``office_records.validate_new``: the same
  validation as a capture or a lead entered by hand), with the site's URL as source and
  the moment of the submission as the consent time;
* duplicates as in capture: the same e-mail or mobile among the office's live leads
  within ``DUPLICATE_WINDOW_DAYS`` is the same person; no second lead is filed, but the
  consent is recorded against the lead it matched (the visitor agreed to that notice
  again). The owner's forms serialise on an advisory lock, so two submissions of one
  person at once cannot both file a lead;
* the lead, and its consent row (notice text and version, kind, page), are written in the
  worker's transaction, which commits before the reply leaves: an accepted form is a
  stored lead, listed in the office as soon as the visitor sees the thank-you page.

A boutique's order request (issue 13 §3) comes the same way, from the product site's kind
(distribution), with its products and quantities as a note on the lead.

The lead carries the site's kind (issue 13 §1): the product site and the boutique file
distribution leads, the brochure site (``/opportunite``) construction leads; the consent
row records it too. A duplicate keeps the kind of the lead it matched.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from leads.domain import office_records as records
from leads.domain.refunds import LeadOrigin
from leads.models import office_leads, site_consents
from leads.settings import TUNABLES
from leads.usecases import capture_limits
from leads.usecases.office import one_lead, pipelines
from leads.usecases.office.context import OfficeCtx, office_scope
from suivi_common.database import xact_lock
from suivi_common.errors import Invalid
from suivi_common.kinds import KINDS

#: what a site's form may send (the rest of a lead's fields are the owner's to fill in)
FORM_FIELDS = ("first_name", "last_name", "email", "mobile", "postal_code", "city", "country")
ACCEPTED, DUPLICATE = "accepted", "duplicate"


def capture_from_site(ctx: OfficeCtx, separate: Callable[[], AbstractContextManager[Session]],
                      require_office_open: Callable[[str], None], *, owner_id: str,
                      network_id: str, kind: str, page_id: str, fields: Any, notice_text: str,
                      notice_version: str, source_url: str, client_ip: str | None,
                      note: str | None = None) -> dict[str, Any]:
    """``{status: accepted | duplicate, lead_id}``; ``Invalid`` naming the bad fields (the
    gateway shows them on the form), 429 over the address's rate, 403 office closed.
    ``note``: what the visitor asked for (a boutique's order request: the products and
    quantities), filed as a note on the lead, the one they matched included."""
    if kind not in KINDS or not notice_text or not notice_version or not page_id:
        raise Invalid("The site's form is incomplete", code="site_form_invalid")
    with separate() as tx:
        refused = capture_limits.count(tx, capture_limits.site_limits(ctx.vault, client_ip),
                                       ctx.now)
    if refused is not None:
        raise refused
    require_office_open(owner_id)
    given = fields if isinstance(fields, Mapping) else {}
    raw: dict[str, Any] = {k: given[k] for k in FORM_FIELDS
                           if isinstance(given.get(k), str) and given[k].strip()}
    raw.update(source="form", source_url=source_url, consent_at=ctx.now.isoformat(),
               capture_ip=client_ip)
    data = records.validate_new(raw, ctx.now)

    xact_lock(ctx.session, f"site-capture:{owner_id}")
    scope = office_scope(network_id, owner_id)
    match = _recent_match(ctx, scope, owner_id, data)
    if match is not None:
        lead_id, status = match, DUPLICATE
    else:
        pipeline, _ = pipelines.locked(ctx.session, network_id)
        lead_id, status = uuid.uuid4(), ACCEPTED
        one_lead.insert_rows(ctx.session, [one_lead.lead_row(
            ctx.vault, lead_id=lead_id, owner_id=owner_id, network_id=network_id,
            origin=LeadOrigin.SITE, status=pipeline.initial, created_at=ctx.now, data=data,
            kind=kind)])
    ctx.session.execute(site_consents.insert().values(
        id=uuid.uuid4(), lead_id=lead_id, owner_id=owner_id, kind=kind, page_id=str(page_id),
        notice_version=notice_version, notice_text=notice_text, source_url=source_url,
        duplicate=status == DUPLICATE, consented_at=ctx.now))
    if note:
        one_lead.add_note(ctx, owner_id, lead_id, note[:one_lead.NOTE_MAX])
    return {"status": status, "lead_id": str(lead_id)}


def _recent_match(ctx: OfficeCtx, scope: str, owner_id: str,
                  data: Mapping[str, Any]) -> uuid.UUID | None:
    """A live lead of the office with the same e-mail or mobile, filed within the
    duplicate window (every live key version: a rotation may be under way)."""
    keys = records.search_keys(data)
    t = office_leads
    conditions = []
    for col in ("email_bidx", "mobile_bidx"):
        value = keys[col]
        if value:
            digests = ctx.vault.blind_indexes(scope, records.BIDX_KINDS[col], value)
            conditions.append(t.c[col].in_(digests))
    if not conditions:
        return None
    since = ctx.now - timedelta(days=TUNABLES.get_int("DUPLICATE_WINDOW_DAYS"))
    row = ctx.session.execute(select(t.c.id).where(
        t.c.owner_id == owner_id, t.c.deleted_at.is_(None), t.c.erased_at.is_(None),
        t.c.created_at > since, or_(*conditions)).order_by(t.c.created_at.desc()).limit(1)
    ).first()
    return row.id if row is not None else None
