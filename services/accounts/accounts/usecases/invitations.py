"""Inviting an address that has an account elsewhere on the platform (another network,
staff): the admin gets the answers a new address gets, first the invited member, then,
invited again, the same ``email_taken`` conflict (``domain.networks.invitation_conflict_told``),
and the request does comparable work, so neither the answers nor their timing tell
whether the address is in use elsewhere.

Such an invitation is remembered (``models.masked_invitations``: the address's blind
index, its names and address sealed under the admin's network, the hash its link would
have), so that a second invitation conflicts as a new address's does, and it reads as the
invited member a new address becomes: by id, in the member list, with an access level, as
an office not begun (``networks``, ``queries.admin_can_view``). It creates no account,
issues no usable link and sends no email; compliance audits it (``invitation_masked``, ids
only), so staff can see an admin probing addresses. The person keeps their one account
(one email, one account, one network). Telling them that someone tried to invite them is
left for later (an email through the mailer, not built)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from accounts.domain import sessions as tokens
from accounts.domain.accounts import AccountStatus, Role
from accounts.models import masked_invitations
from accounts.usecases import password_tokens
from accounts.usecases.context import Ctx
from accounts.usecases.users import email_index, iso, scope_of
from suivi_common import clock
from suivi_common.errors import Conflict
from suivi_common.ids import parse_uuid

TABLE = "masked_invitations"


def as_if_invited(row: Row, email: str, first_name: str | None, last_name: str | None,
                  ) -> dict[str, Any]:
    """What ``invite_member`` answers for a new invitee (``users.member_dict`` of a fresh
    invited user), for an invitation that made no account."""
    return {"id": str(row.id), "email": email, "first_name": first_name,
            "last_name": last_name, "role": Role.USER.value,
            "status": AccountStatus.INVITED.value, "invited_at": iso(row.created_at),
            "contract_concluded_at": None,
            "access_level_id": str(row.access_level_id) if row.access_level_id else None,
            "subscription_active": False, "admin_access": True}


def invite_masked(ctx: Ctx, admin_id: uuid.UUID, network_id: uuid.UUID, email: str,
                  first_name: str, last_name: str) -> dict[str, Any]:
    """Remember the invitation and answer as for a new invitee; a second one of the same
    address by the same network is ``email_taken``, as a new address's would be. The work
    mirrors ``networks._invite``: the same encryptions and link derivation, a row and an
    event written (``invitation_masked``, for compliance's audit trail: ids only)."""
    now = clock.now()
    invitation_id = uuid.uuid4()
    scope = scope_of(network_id)
    seal = ctx.vault.encrypt
    token = tokens.link_token(ctx.vault.subkey(password_tokens.LINK_KEY_PURPOSE),
                              str(invitation_id))
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(masked_invitations.insert().values(
                id=invitation_id, network_id=network_id, email_index=email_index(ctx, email),
                email=seal(scope, TABLE, "email", invitation_id, email),
                first_name=seal(scope, TABLE, "first_name", invitation_id, first_name),
                last_name=seal(scope, TABLE, "last_name", invitation_id, last_name),
                token_hash=tokens.token_hash(token), created_at=now))
    except IntegrityError:  # invited before by this network (or concurrently)
        raise Conflict("This email already has an account", code="email_taken") from None
    row = _row(ctx, invitation_id, network_id)
    assert row is not None
    # audited (an admin probing addresses shows there), and the outbox write a new
    # address's ``user_invited`` makes
    ctx.emit("invitation_masked", {"invitation_id": str(invitation_id),
                                   "network_id": str(network_id), "admin_id": str(admin_id),
                                   "invited_at": iso(now)})
    return answer(ctx, row)


def _row(ctx: Ctx, invitation_id: object, network_id: uuid.UUID | None,
         for_update: bool = False) -> Row | None:
    parsed = parse_uuid(invitation_id)
    if parsed is None or network_id is None:
        return None
    query = select(masked_invitations).where(masked_invitations.c.id == parsed,
                                             masked_invitations.c.network_id == network_id)
    return ctx.session.execute(query.with_for_update() if for_update else query).first()


def answer(ctx: Ctx, row: Row) -> dict[str, Any]:
    """A masked invitation shown as the invited member it would be."""
    scope = scope_of(row.network_id)
    opened = {c: ctx.vault.decrypt(scope, TABLE, c, row.id, getattr(row, c))
              for c in ("email", "first_name", "last_name")}
    email = opened["email"]
    assert email is not None
    return as_if_invited(row, email, opened["first_name"], opened["last_name"])


def find(ctx: Ctx, invitation_id: object, network_id: uuid.UUID | None) -> dict[str, Any] | None:
    """A masked invitation of the admin's network, shown as the invited member it would
    be (``get_member``); another network's is not found."""
    row = _row(ctx, invitation_id, network_id)
    return None if row is None else answer(ctx, row)


def find_row(ctx: Ctx, invitation_id: object, network_id: uuid.UUID | None) -> Row | None:
    """The row, locked (an access level assigned to it)."""
    return _row(ctx, invitation_id, network_id, for_update=True)


def is_masked(ctx: Ctx, invitation_id: object, network_id: uuid.UUID | None) -> bool:
    """Whether the id names a masked invitation of this network (``admin_can_view``)."""
    return _row(ctx, invitation_id, network_id) is not None


def office_of(ctx: Ctx, row: Row) -> dict[str, Any]:
    """``member_office``'s answer for an invited member who has no office yet."""
    return {"member": answer(ctx, row), "phone": None, "address": None, "subscription": None}



def of_network(network_id: uuid.UUID | None) -> Select[Any]:
    """The network's masked invitations (``list_members`` pages them with its members)."""
    return select(masked_invitations).where(masked_invitations.c.network_id == network_id)
