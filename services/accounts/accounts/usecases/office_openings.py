"""An admin opening a member's office (terms art. 5), for compliance's audit trail:
``member_office_opened {member_id, admin_id, network_id, opened_at}``.

The access is granted in one place, ``admin_can_view`` (the gateway asks it before every
admin look into a member's office, its summary and its leads, and leads asks it again),
and used by ``member_office``: both record the opening here. Looks by the same admin at
the same member within ``OFFICE_OPENING_WINDOW_MINUTES`` are one opening, one event, so
the trail records visits, not each page; one statement decides it (an upsert that
only moves ``opened_at`` once the window is over), safe with concurrent looks and
several instances. An admin looking at their own office opens no member's office.
"""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row

from accounts.models import office_openings
from accounts.usecases.context import Ctx
from suivi_common import clock


def record(ctx: Ctx, admin: Row, member: Row) -> bool:
    """Note the admin's look; True (and the event emitted) when it opens a new visit."""
    if admin.id == member.id:
        return False
    now = clock.now()
    o = office_openings.c
    insert = pg_insert(office_openings).values(admin_id=admin.id, member_id=member.id,
                                               network_id=member.network_id, opened_at=now)
    opened = ctx.session.execute(insert.on_conflict_do_update(
        index_elements=[o.admin_id, o.member_id],
        set_={"opened_at": now, "network_id": member.network_id},
        where=o.opened_at <= now - ctx.settings.office_opening_window)
        .returning(o.opened_at)).first()
    if opened is None:
        return False
    ctx.emit("member_office_opened", {"member_id": str(member.id), "admin_id": str(admin.id),
                                      "network_id": str(member.network_id),
                                      "opened_at": now.isoformat()})
    return True
