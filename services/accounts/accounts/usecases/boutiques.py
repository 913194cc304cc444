"""Boutiques (issue 13 §3, admin tool 6): the admin's boutique and catalogue, and what the
gateway renders at ``/b/{slug}/``. Another network's product, or a malformed id, is not
found. The boutique lives with the member's office exactly as the sites do
(``sites.public_site``): an office not renewed, and it answers 410.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row

from accounts.domain import boutiques as rules
from accounts.domain.accounts import Role
from accounts.models import boutique_products as products
from accounts.models import boutiques
from accounts.usecases import sites
from accounts.usecases.context import Ctx
from accounts.usecases.users import actor, iso
from suivi_common import clock
from suivi_common.errors import NotFound
from suivi_common.ids import parse_uuid


def product_dict(row: Row) -> dict[str, Any]:
    return {"id": str(row.id), "name": row.name, "description": row.description,
            "price_cents": row.price_cents, "price": rules.price_label(row.price_cents),
            "image_ids": list(row.image_ids), "order_note": row.order_note,
            "position": row.position, "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at)}


def boutique_dict(row: Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"title": row.title, "intro": row.intro, "notice": row.notice,
            "notice_version": row.notice_version, "updated_at": iso(row.updated_at)}


def _product(ctx: Ctx, product_id: object, network_id: uuid.UUID, lock: bool = False) -> Row:
    parsed = parse_uuid(product_id)
    query = select(products).where(products.c.id == parsed, products.c.network_id == network_id)
    row = ctx.session.execute(query.with_for_update() if lock else query).first() \
        if parsed else None
    if row is None:
        raise NotFound("No such product", code="boutique_product_not_found")
    return row


def _catalogue(ctx: Ctx, network_id: uuid.UUID) -> list[Row]:
    return list(ctx.session.execute(select(products).where(
        products.c.network_id == network_id).order_by(products.c.position, products.c.id)))


def _images(ctx: Ctx, network_id: uuid.UUID, image_ids: list[str]) -> None:
    sites._check_images(ctx, network_id, [{"type": "image", "image_id": i} for i in image_ids])


def get_boutique(ctx: Ctx) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    row = ctx.session.execute(select(boutiques).where(
        boutiques.c.network_id == me.network_id)).first()
    return {"boutique": boutique_dict(row),
            "products": [product_dict(p) for p in _catalogue(ctx, me.network_id)]}


def put_boutique(ctx: Ctx, body: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    b = rules.clean_boutique(body)
    values = {"title": b.title, "intro": b.intro, "notice": b.notice,
              "notice_version": b.notice_version, "updated_at": clock.now()}
    ctx.session.execute(pg_insert(boutiques).values(network_id=me.network_id, **values)
                        .on_conflict_do_update(index_elements=[boutiques.c.network_id],
                                               set_=values))
    return get_boutique(ctx)


def create_product(ctx: Ctx, body: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    p = rules.clean_product(body)
    _images(ctx, me.network_id, p.image_ids)
    product_id, now = uuid.uuid4(), clock.now()
    ctx.session.execute(products.insert().values(
        id=product_id, network_id=me.network_id, name=p.name, description=p.description,
        price_cents=p.price_cents, image_ids=p.image_ids, order_note=p.order_note,
        position=p.position, created_by=me.id, created_at=now, updated_at=now))
    return product_dict(_product(ctx, product_id, me.network_id))


def update_product(ctx: Ctx, product_id: object, body: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    row = _product(ctx, product_id, me.network_id, lock=True)
    p = rules.clean_product(body)
    _images(ctx, me.network_id, p.image_ids)
    ctx.session.execute(update(products).where(products.c.id == row.id).values(
        name=p.name, description=p.description, price_cents=p.price_cents,
        image_ids=p.image_ids, order_note=p.order_note, position=p.position,
        updated_at=clock.now()))
    return product_dict(_product(ctx, row.id, me.network_id))


def delete_product(ctx: Ctx, product_id: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    row = _product(ctx, product_id, me.network_id, lock=True)
    ctx.session.execute(products.delete().where(products.c.id == row.id))
    return {"id": str(row.id), "deleted": True}


def public_boutique(ctx: Ctx, slug: object) -> dict[str, Any]:
    """The member's boutique as ``sites.public_site`` answers a site (owner, coordinates,
    ``active``), with the network's boutique and catalogue; not found when the network
    has no boutique."""
    out = sites.public_site(ctx, slug, "distribution", page_required=False)
    out.pop("page", None)
    if not out["active"]:
        return out
    row = ctx.session.execute(select(boutiques).where(
        boutiques.c.network_id == uuid.UUID(out["network_id"]))).first()
    if row is None:
        raise NotFound("No such boutique")
    out["boutique"] = boutique_dict(row)
    out["products"] = [product_dict(p) for p in _catalogue(ctx, uuid.UUID(out["network_id"]))]
    return out
