"""Inviting an address that has an account elsewhere on the platform (another network,
staff): the admin gets the answer a new address gets, and nothing is created, emailed or
changed (``domain.networks.invitation_conflict_told``)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from accounts.domain.accounts import AccountStatus, Role
from accounts.usecases.users import iso


def as_if_invited(email: str, first_name: str, last_name: str, now: datetime) -> dict[str, Any]:
    """What ``invite_member`` answers for a new invitee (``users.member_dict`` of a fresh
    invited user), for an invitation that is not made. The id names no row."""
    return {"id": str(uuid.uuid4()), "email": email, "first_name": first_name,
            "last_name": last_name, "role": Role.USER.value,
            "status": AccountStatus.INVITED.value, "invited_at": iso(now),
            "contract_concluded_at": None, "access_level_id": None,
            "subscription_active": False, "admin_access": True}
