"""Who a lead is and who owns it: leads answers (``lead_contact``), the mailer compares.

Its own module because both the sends and the template previews need it, and neither
may import the other.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nameko.exceptions import MethodNotFound

from mailer.usecases.context import Ctx, parse_id
from suivi_common.errors import NotFound, ServiceUnavailable


def lead_contact(ctx: Ctx, lead_id: str) -> dict[str, Any]:
    """leads' ``lead_contact`` (NotFound for an unknown or erased lead). A leads without it
    (an older version during a rollout) is a 503, not a bug."""
    try:
        return dict(ctx.leads.lead_contact(lead_id))
    except MethodNotFound:
        raise ServiceUnavailable("leads cannot say who owns a lead yet (lead_contact)",
                                 code="lead_contact_unavailable") from None


def contact_of_owner(ctx: Ctx, lead_id: Any, owner_id: str) -> dict[str, Any]:
    """The lead's contact details, if ``owner_id`` owns it; NotFound otherwise."""
    lid = parse_id(lead_id, "lead")
    contact = lead_contact(ctx, str(lid))
    if not isinstance(contact, Mapping) or str(contact.get("owner_id")) != owner_id:
        raise NotFound("No such lead")
    return dict(contact)
