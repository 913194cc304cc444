"""The users' websites (issue 13 §2, admin tool 5): the admin's page templates, members'
overrides and settings, images, and what the gateway renders at ``/s/{slug}/``.

Another network's page, image or member, or a malformed id, is not found (IDOR). A
member's override needs ``edit_site``; it records who edited the block and when, since
responsibility for that part moves to the member (terms art. 11); the admin sees every
override of the network's pages and can reset one.
"""
from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from accounts.domain import site_images
from accounts.domain import sites as rules
from accounts.domain.accounts import AccountStatus, Role
from accounts.models import (
    networks,
    site_overrides,
    site_pages,
    site_profiles,
    subscriptions,
    users,
)
from accounts.models import site_images as images
from accounts.usecases.context import Ctx
from accounts.usecases.users import actor, iso, office_active_ids, profile
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid, NotFound
from suivi_common.ids import parse_uuid
from suivi_common.permissions import EDIT_SITE, require_permission

MEMBER = (Role.ADMIN.value, Role.USER.value)
SETTINGS = ("show_name", "show_phone", "show_email", "show_photo")


def page_dict(row: Row) -> dict[str, Any]:
    return {"id": str(row.id), "kind": row.kind, "title": row.title, "blocks": row.blocks,
            "created_by": str(row.created_by), "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at)}


def override_dict(row: Row) -> dict[str, Any]:
    return {"page_id": str(row.page_id), "block_id": row.block_id, "user_id": str(row.user_id),
            "content": row.content, "edited_by": str(row.edited_by),
            "edited_at": iso(row.edited_at)}


def _page(ctx: Ctx, page_id: object, network_id: uuid.UUID | None, lock: bool = False) -> Row:
    parsed = parse_uuid(page_id)
    query = select(site_pages).where(site_pages.c.id == parsed,
                                     site_pages.c.network_id == network_id)
    row = ctx.session.execute(query.with_for_update() if lock else query).first() \
        if parsed else None
    if row is None:
        raise NotFound("No such site page", code="site_page_not_found")
    return row


def _kind_taken() -> Conflict:
    return Conflict("The network has a page of this kind; change it instead",
                    code="site_page_exists", fields={"kind": "taken"})


def _check_images(ctx: Ctx, network_id: uuid.UUID, blocks: list[dict[str, Any]]) -> None:
    wanted = {b["image_id"] for b in blocks if b["type"] == "image"}
    if not wanted:
        return
    ids = [parse_uuid(i) for i in wanted]
    found = {str(r.id) for r in ctx.session.execute(select(images.c.id).where(
        images.c.id.in_([i for i in ids if i]), images.c.network_id == network_id))}
    missing = {f"blocks.{n}.image_id": "No such image in this network."
               for n, b in enumerate(blocks) if b["type"] == "image" and b["image_id"] not in found}
    if missing:
        raise Invalid("The site page is not valid", fields=missing)


# --- the admin's templates -------------------------------------------------------------------

def list_pages(ctx: Ctx) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    rows = ctx.session.execute(select(site_pages).where(
        site_pages.c.network_id == me.network_id).order_by(site_pages.c.kind)).all()
    return {"items": [page_dict(r) for r in rows], "next_cursor": None}


def get_page(ctx: Ctx, page_id: object) -> dict[str, Any]:
    """The template and every member's override of it (who, when: art. 11)."""
    me = actor(ctx, Role.ADMIN.value)
    row = _page(ctx, page_id, me.network_id)
    overrides = ctx.session.execute(select(site_overrides).where(
        site_overrides.c.page_id == row.id).order_by(site_overrides.c.edited_at)).all()
    return {**page_dict(row), "overrides": [override_dict(o) for o in overrides]}


def create_page(ctx: Ctx, body: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    page = rules.clean_page(body)
    _check_images(ctx, me.network_id, page.blocks)
    page_id, now = uuid.uuid4(), clock.now()
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(site_pages.insert().values(
                id=page_id, network_id=me.network_id, kind=page.kind, title=page.title,
                blocks=page.blocks, created_by=me.id, created_at=now, updated_at=now))
    except IntegrityError:
        raise _kind_taken() from None
    return get_page(ctx, page_id)


def update_page(ctx: Ctx, page_id: object, body: object) -> dict[str, Any]:
    """Replace the template. Overrides of blocks that are gone, or no longer open, are
    dropped with it: they no longer show anywhere."""
    me = actor(ctx, Role.ADMIN.value)
    row = _page(ctx, page_id, me.network_id, lock=True)
    page = rules.clean_page(body)
    _check_images(ctx, me.network_id, page.blocks)
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(update(site_pages).where(site_pages.c.id == row.id).values(
                kind=page.kind, title=page.title, blocks=page.blocks, updated_at=clock.now()))
    except IntegrityError:
        raise _kind_taken() from None
    still_open = [b["id"] for b in page.blocks if b.get("overridable")]
    ctx.session.execute(delete(site_overrides).where(
        site_overrides.c.page_id == row.id, site_overrides.c.block_id.not_in(still_open)))
    return get_page(ctx, row.id)


def delete_page(ctx: Ctx, page_id: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    row = _page(ctx, page_id, me.network_id, lock=True)
    ctx.session.execute(site_pages.delete().where(site_pages.c.id == row.id))
    return {"id": str(row.id), "deleted": True}


def reset_override(ctx: Ctx, page_id: object, member_id: object, block_id: object
                   ) -> dict[str, Any]:
    """The admin takes a block back: the member's version is gone, the template shows."""
    me = actor(ctx, Role.ADMIN.value)
    row = _page(ctx, page_id, me.network_id)
    member = parse_uuid(member_id)
    gone = ctx.session.execute(delete(site_overrides).where(
        site_overrides.c.page_id == row.id, site_overrides.c.user_id == member,
        site_overrides.c.block_id == str(block_id)).returning(site_overrides.c.block_id)
    ).first() if member else None
    if gone is None:
        raise NotFound("No such override", code="site_override_not_found")
    return {"page_id": str(row.id), "user_id": str(member), "block_id": str(block_id),
            "deleted": True}


# --- images ----------------------------------------------------------------------------------

def _store_image(ctx: Ctx, me: Row, data: bytes) -> dict[str, Any]:
    image = site_images.prepare(data)
    image_id, now = uuid.uuid4(), clock.now()
    ctx.session.execute(images.insert().values(
        id=image_id, network_id=me.network_id, content_type=image.content_type,
        width=image.width, height=image.height, content=image.content, uploaded_by=me.id,
        created_at=now))
    return {"id": str(image_id), "content_type": image.content_type, "width": image.width,
            "height": image.height, "size_bytes": len(image.content), "created_at": iso(now)}


def _decode(content_b64: object) -> bytes:
    try:
        return base64.b64decode(str(content_b64), validate=True)
    except ValueError:
        raise Invalid("The image is not base64", fields={"file": "base64"}) from None


def upload_image(ctx: Ctx, content_b64: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    return _store_image(ctx, me, _decode(content_b64))


def set_my_photo(ctx: Ctx, content_b64: object) -> dict[str, Any]:
    """The member's photo on their sites (replaces the previous one)."""
    me = actor(ctx, *MEMBER)
    image = _store_image(ctx, me, _decode(content_b64))
    old = _profile_row(ctx, me.id, lock=True)
    ctx.session.execute(update(site_profiles).where(site_profiles.c.user_id == me.id).values(
        photo_image_id=uuid.UUID(image["id"]), updated_at=clock.now()))
    if old.photo_image_id:
        ctx.session.execute(delete(images).where(images.c.id == old.photo_image_id))
    return my_site(ctx)


def public_image(ctx: Ctx, image_id: object) -> dict[str, Any]:
    """An image of the sites. A member's photo only while it shows on their sites (their
    setting, an open office): it is personal data, the pages' images are the network's."""
    parsed = parse_uuid(image_id)
    row = ctx.session.execute(select(images.c.content_type, images.c.content).where(
        images.c.id == parsed)).first() if parsed else None
    if row is None:
        raise NotFound("No such image")
    owner = ctx.session.execute(select(site_profiles.c.user_id, site_profiles.c.show_photo)
                                .where(site_profiles.c.photo_image_id == parsed)).first()
    if owner is not None and (not owner.show_photo
                              or owner.user_id not in office_active_ids(ctx, [owner.user_id])):
        raise NotFound("No such image")
    return {"content_type": row.content_type,
            "content": base64.b64encode(row.content).decode()}


# --- the member's side -----------------------------------------------------------------------

def _profile_row(ctx: Ctx, user_id: uuid.UUID, lock: bool = False) -> Row:
    ctx.session.execute(pg_insert(site_profiles).values(
        user_id=user_id, updated_at=clock.now()).on_conflict_do_nothing())
    query = select(site_profiles).where(site_profiles.c.user_id == user_id)
    return ctx.session.execute(query.with_for_update() if lock else query).one()


def _settings(row: Row | None) -> dict[str, Any]:
    return {name: (getattr(row, name) if row is not None else True) for name in SETTINGS} | {
        "has_photo": bool(row is not None and row.photo_image_id)}


def my_site(ctx: Ctx) -> dict[str, Any]:
    """The member's slug, settings and the network's pages as their visitors see them."""
    me = actor(ctx, *MEMBER)
    prof = ctx.session.execute(select(site_profiles).where(
        site_profiles.c.user_id == me.id)).first()
    rows = ctx.session.execute(select(site_pages).where(
        site_pages.c.network_id == me.network_id).order_by(site_pages.c.kind)).all()
    mine = _overrides_of(ctx, me.id, [r.id for r in rows])
    pages = [{**page_dict(r), "blocks": rules.apply_overrides(r.blocks, mine.get(r.id, {})),
              "path": site_path(me.slug, r.kind)} for r in rows]
    return {"slug": me.slug, "settings": _settings(prof), "pages": pages}


def update_my_settings(ctx: Ctx, changes: object) -> dict[str, Any]:
    me = actor(ctx, *MEMBER)
    data = changes if isinstance(changes, dict) else {}
    bad = {k: "true or false." for k in SETTINGS if k in data and not isinstance(data[k], bool)}
    bad |= {k: "Unknown setting." for k in data if k not in SETTINGS}
    if bad:
        raise Invalid("The site settings are not valid", fields=bad)
    _profile_row(ctx, me.id, lock=True)
    if data:
        ctx.session.execute(update(site_profiles).where(site_profiles.c.user_id == me.id)
                            .values(**data, updated_at=clock.now()))
    return my_site(ctx)


def override_block(ctx: Ctx, page_id: object, block_id: object, content: object
                   ) -> dict[str, Any]:
    """The member's own content for an open block; who and when are recorded (art. 11)."""
    me = actor(ctx, *MEMBER)
    require_permission(ctx.principal, EDIT_SITE)
    row = _page(ctx, page_id, me.network_id, lock=True)
    block = next((b for b in row.blocks if b["id"] == block_id), None)
    if block is None:
        raise NotFound("No such block", code="site_block_not_found")
    clean = rules.clean_override(block, content)
    if block["type"] == "image":
        _check_images(ctx, me.network_id, [{"type": "image", **clean}])
    now = clock.now()
    stmt = pg_insert(site_overrides).values(page_id=row.id, block_id=block["id"], user_id=me.id,
                                            content=clean, edited_by=me.id, edited_at=now)
    ctx.session.execute(stmt.on_conflict_do_update(
        index_elements=[site_overrides.c.page_id, site_overrides.c.block_id,
                        site_overrides.c.user_id],
        set_={"content": clean, "edited_by": me.id, "edited_at": now}))
    saved = ctx.session.execute(select(site_overrides).where(
        site_overrides.c.page_id == row.id, site_overrides.c.block_id == block["id"],
        site_overrides.c.user_id == me.id)).one()
    return override_dict(saved)


def _overrides_of(ctx: Ctx, user_id: uuid.UUID, page_ids: list[uuid.UUID]
                  ) -> dict[uuid.UUID, dict[str, dict[str, Any]]]:
    out: dict[uuid.UUID, dict[str, dict[str, Any]]] = {}
    if not page_ids:
        return out
    for o in ctx.session.execute(select(site_overrides).where(
            site_overrides.c.user_id == user_id, site_overrides.c.page_id.in_(page_ids))):
        out.setdefault(o.page_id, {})[o.block_id] = o.content
    return out


def site_path(slug: str | None, kind: str) -> str | None:
    if not slug:
        return None
    return f"/s/{slug}/" if kind == "distribution" else f"/s/{slug}/opportunite"


# --- what the gateway renders ----------------------------------------------------------------

def _public_row(ctx: Ctx, slug: str, kind: str) -> Row | None:
    """Everything a public page needs, in one statement: the member (``users``' columns),
    whether a paid subscription covers today (as ``office_active_ids``), the network's page
    of this kind, the member's site settings, the network's open countries, and the
    member's overrides of that page as one JSON object (block id to content)."""
    s, o = subscriptions.c, site_overrides.c
    day = clock.today()
    office_open = select(s.user_id).where(
        s.user_id == users.c.id, s.status == "active", s.starts_on <= day,
        s.ends_on >= day).exists()
    overrides = (select(func.jsonb_object_agg(o.block_id, o.content))
                 .where(o.page_id == site_pages.c.id, o.user_id == users.c.id)
                 .scalar_subquery())
    query = (select(
        users, office_open.label("office_open"),
        site_pages.c.id.label("page_id"), site_pages.c.title.label("page_title"),
        site_pages.c.blocks.label("page_blocks"), site_pages.c.updated_at.label("page_updated_at"),
        site_profiles.c.user_id.label("profile_user_id"),
        *(site_profiles.c[name].label(name) for name in SETTINGS),
        site_profiles.c.photo_image_id.label("photo_image_id"),
        networks.c.open_countries.label("open_countries"),
        overrides.label("overrides"))
        .select_from(users
                     .outerjoin(site_pages, (site_pages.c.network_id == users.c.network_id)
                                & (site_pages.c.kind == kind))
                     .outerjoin(site_profiles, site_profiles.c.user_id == users.c.id)
                     .outerjoin(networks, networks.c.id == users.c.network_id))
        .where(users.c.slug == slug))
    return ctx.session.execute(query).first()


def public_site(ctx: Ctx, slug: object, kind: object, page_required: bool = True
                ) -> dict[str, Any]:
    """The member's page of this kind, their coordinates as their settings allow, and
    whether the site is live: it is while the office is open (an active account with a
    subscription covering today, as for the office itself), so a renewal brings it back
    the same day. An unknown slug, a staff account or an erased member is not found.
    One SQL statement (``_public_row``): every visit of a public page asks for it."""
    if not rules.valid_slug(slug) or kind not in rules.KINDS:
        raise NotFound("No such site")
    row = _public_row(ctx, str(slug), str(kind))
    if row is None or row.role not in MEMBER or row.erased_at is not None:
        raise NotFound("No such site")
    active = (row.status == AccountStatus.ACTIVE.value and row.restricted_at is None
              and bool(row.office_open))
    out: dict[str, Any] = {"user_id": str(row.id), "network_id": str(row.network_id),
                           "slug": row.slug, "kind": kind, "active": active, "page": None,
                           "coordinates": {}}
    if not active:
        return out
    if row.page_id is None and page_required:
        raise NotFound("No such site")
    shown = _settings(row if row.profile_user_id is not None else None)
    person = profile(ctx, row)
    name = " ".join(x for x in (person.first_name, person.last_name) if x)
    out["coordinates"] = {
        "name": name if shown["show_name"] else None,
        "phone": person.phone if shown["show_phone"] else None,
        "email": person.email if shown["show_email"] else None,
        "photo": str(row.photo_image_id) if row.photo_image_id and shown["show_photo"]
        else None}
    out["countries"] = list(row.open_countries or [])
    if row.page_id is None:
        return out
    out["page"] = {"id": str(row.page_id), "title": row.page_title,
                   "updated_at": iso(row.page_updated_at),
                   "blocks": rules.apply_overrides(row.page_blocks, row.overrides or {})}
    return out


def export_of_user(ctx: Ctx, user_id: uuid.UUID, slug: str | None) -> tuple[dict[str, Any], int]:
    """An access request's copy of a member's site data (their slug, settings, photo and
    the blocks they reworded), and how many records it holds."""
    prof = ctx.session.execute(select(site_profiles).where(
        site_profiles.c.user_id == user_id)).first()
    photo = None
    if prof is not None and prof.photo_image_id:
        image = ctx.session.execute(select(images).where(
            images.c.id == prof.photo_image_id)).first()
        if image is not None:
            photo = {"image_id": str(image.id), "content_type": image.content_type,
                     "width": image.width, "height": image.height,
                     "uploaded_at": iso(image.created_at),
                     "content_base64": base64.b64encode(image.content).decode("ascii")}
    overrides = [{"page_id": str(o.page_id), "block_id": o.block_id, "content": o.content,
                  "edited_by": str(o.edited_by), "edited_at": iso(o.edited_at)}
                 for o in ctx.session.execute(select(site_overrides).where(
                     site_overrides.c.user_id == user_id)
                     .order_by(site_overrides.c.edited_at, site_overrides.c.block_id))]
    document = {"slug": slug, "settings": {k: v for k, v in _settings(prof).items()
                                           if k != "has_photo"},
                "photo": photo, "overrides": overrides}
    return document, (prof is not None) + (photo is not None) + len(overrides)


def erase_of_user(ctx: Ctx, user_id: uuid.UUID) -> int:
    """An erased member's site data (their photo, settings and overrides); the rows it
    removed. Their slug is cleared with the account's identifiers (it carries the name)."""
    photo = ctx.session.execute(select(site_profiles.c.photo_image_id).where(
        site_profiles.c.user_id == user_id)).scalar()
    removed = len(ctx.session.execute(delete(site_overrides).where(
        site_overrides.c.user_id == user_id).returning(site_overrides.c.page_id)).all())
    removed += len(ctx.session.execute(delete(site_profiles).where(
        site_profiles.c.user_id == user_id).returning(site_profiles.c.user_id)).all())
    if photo is not None:
        removed += len(ctx.session.execute(delete(images).where(images.c.id == photo)
                                           .returning(images.c.id)).all())
    return removed
