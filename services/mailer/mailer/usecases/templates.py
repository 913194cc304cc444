"""Admin tool 2: the network's email templates, its French default set, and previews.

Members read their network's templates (to pick one in the office); only the admin writes
them. A template is checked when it is saved (``templating.check``): a syntax error or a
placeholder outside the list is a 400 naming the field and the line. A template an
automation uses cannot be deleted (409 ``template_in_use``).
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from mailer.domain import default_templates, templating, unsubscribe
from mailer.domain.templating import Source
from mailer.models import automations, email_templates, mail_networks
from mailer.usecases.contacts import contact_of_owner
from mailer.usecases.context import Ctx, admin, member, parse_id
from suivi_common import clock, paging
from suivi_common.errors import Conflict, Invalid, NotFound

LOCALE = re.compile(r"[a-z]{2}(-[A-Z]{2})?")
LIMITS = {"name": 200, "subject": 500, "body_text": 20_000, "body_html": 100_000}
T = email_templates
#: Names this listing's cursors (another listing's cursor is refused).
CURSOR_KIND = "mail-templates"


def _view(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "name": row.name, "subject": row.subject,
            "body_text": row.body_text, "body_html": row.body_html, "locale": row.locale,
            "default_for_status": row.default_for_status,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}


def check_fields(data: Any) -> dict[str, Any]:
    """The template's fields as saved, or ``Invalid`` naming every bad one."""
    if not isinstance(data, Mapping):
        raise Invalid("The template must be an object", fields={"_schema": "not an object"})
    fields: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key in ("name", "subject", "body_text", "body_html"):
        value = data.get(key)
        if key == "body_html" and value in (None, ""):
            clean[key] = None
            continue
        if not isinstance(value, str) or not value.strip():
            fields[key] = "is required"
        elif len(value) > LIMITS[key]:
            fields[key] = f"at most {LIMITS[key]} characters"
        elif key in ("name", "subject") and any(not ch.isprintable() for ch in value):
            fields[key] = "must be one line of text"
        else:
            clean[key] = value.strip() if key in ("name", "subject") else value
    locale = data.get("locale") or "fr"
    if not isinstance(locale, str) or not LOCALE.fullmatch(locale):
        fields["locale"] = "a language code such as fr or fr-BE"
    clean["locale"] = locale
    if fields:
        raise Invalid("The template is not valid", fields=fields)
    templating.check(Source(clean["subject"], clean["body_text"], clean["body_html"]))
    return clean


def network_name(session: Session, network_id: str) -> str:
    return session.execute(select(mail_networks.c.name).where(
        mail_networks.c.network_id == network_id)).scalar() or ""


def seed_defaults(session: Session, network_id: str, now: datetime) -> None:
    """Give a network the French default set, once (the admin may then edit or delete it)."""
    session.execute(pg_insert(mail_networks).values(network_id=network_id, name="")
                    .on_conflict_do_nothing(index_elements=["network_id"]))
    seeded = session.execute(select(mail_networks.c.defaults_seeded_at).where(
        mail_networks.c.network_id == network_id).with_for_update()).scalar()
    if seeded is not None:
        return
    for n, d in enumerate(default_templates.DEFAULTS):
        at = now.replace(microsecond=n)  # a stable order: the pipeline's
        session.execute(T.insert().values(
            id=uuid.uuid4(), network_id=network_id, name=d.name, subject=d.subject,
            body_text=d.body_text, body_html=None, locale=default_templates.LOCALE,
            default_for_status=d.status, created_at=at, updated_at=at))
    session.execute(update(mail_networks).where(mail_networks.c.network_id == network_id)
                    .values(defaults_seeded_at=now))


def on_network_created(ctx: Ctx, payload: Mapping[str, Any]) -> None:
    """accounts' ``network_created``: its name (for ``{{ network.name }}``) and defaults."""
    network_id = str(payload.get("network_id") or "")
    if not network_id:
        return
    name = templating.clean(payload.get("name"))[:200]
    ctx.session.execute(pg_insert(mail_networks).values(network_id=network_id, name=name)
                        .on_conflict_do_update(index_elements=["network_id"], set_={"name": name}))
    seed_defaults(ctx.session, network_id, clock.now())


def _load(session: Session, network_id: str, template_id: Any, lock: bool = False) -> Any:
    query = select(T).where(T.c.id == parse_id(template_id, "template"), T.c.network_id == network_id)
    row = session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("No such template")
    return row


def load_for_send(session: Session, network_id: str, template_id: Any) -> tuple[Any, Source, str]:
    """The template, its source and the network's name (``{{ network.name }}``), in one
    statement: what an automation's email needs of this database before it renders."""
    query = (select(T, mail_networks.c.name.label("network_name"))
             .outerjoin(mail_networks, mail_networks.c.network_id == T.c.network_id)
             .where(T.c.id == parse_id(template_id, "template"), T.c.network_id == network_id))
    row = session.execute(query).first()
    if row is None:
        raise NotFound("No such template")
    return row, Source(row.subject, row.body_text, row.body_html), row.network_name or ""


def load_source(session: Session, network_id: str, template_id: Any) -> tuple[Any, Source]:
    row = _load(session, network_id, template_id)
    return row, Source(row.subject, row.body_text, row.body_html)


def list_templates(ctx: Ctx, cursor: object, limit: object) -> dict[str, Any]:
    p = member(ctx.principal)
    size = paging.check_limit(limit)
    assert p.network_id
    seed_defaults(ctx.session, p.network_id, clock.now())
    return paging.listing(ctx.session, select(T).where(T.c.network_id == p.network_id), T,
                          cursor, size, _view, kind=CURSOR_KIND)


def get_template(ctx: Ctx, template_id: Any) -> dict[str, Any]:
    p = member(ctx.principal)
    assert p.network_id
    return _view(_load(ctx.session, p.network_id, template_id))


def create_template(ctx: Ctx, data: Any) -> dict[str, Any]:
    p = admin(ctx.principal)
    assert p.network_id
    clean = check_fields(data)
    now = clock.now()
    template_id = uuid.uuid4()
    ctx.session.execute(pg_insert(mail_networks).values(network_id=p.network_id, name="")
                        .on_conflict_do_nothing(index_elements=["network_id"]))
    ctx.session.execute(T.insert().values(id=template_id, network_id=p.network_id,
                                          default_for_status=None, created_at=now,
                                          updated_at=now, **clean))
    return get_template(ctx, template_id)


def update_template(ctx: Ctx, template_id: Any, data: Any) -> dict[str, Any]:
    p = admin(ctx.principal)
    assert p.network_id
    row = _load(ctx.session, p.network_id, template_id, lock=True)
    clean = check_fields(data)
    ctx.session.execute(update(T).where(T.c.id == row.id).values(updated_at=clock.now(), **clean))
    return get_template(ctx, row.id)


def delete_template(ctx: Ctx, template_id: Any) -> dict[str, Any]:
    p = admin(ctx.principal)
    assert p.network_id
    row = _load(ctx.session, p.network_id, template_id, lock=True)
    used = ctx.session.execute(select(exists().where(automations.c.template_id == row.id))).scalar()
    if used:
        raise Conflict("An automation sends this template: change or delete it first",
                       code="template_in_use")
    ctx.session.execute(delete(T).where(T.c.id == row.id))
    return {"id": str(row.id), "deleted": True}


def preview(ctx: Ctx, template_id: Any, lead_id: Any = None) -> dict[str, Any]:
    """The template rendered for a sample lead, or for one of the admin's own leads."""
    p = admin(ctx.principal)
    assert p.network_id
    _, source = load_source(ctx.session, p.network_id, template_id)
    lead: Mapping[str, Any] = templating.SAMPLE_LEAD
    if lead_id not in (None, ""):

        lead = contact_of_owner(ctx, lead_id, p.user_id)
    user = ctx.accounts.get_user(p.user_id)
    values = templating.context(lead, user, network_name(ctx.session, p.network_id),
                                unsubscribe.url(ctx.settings.public_url, "exemple"))
    rendered = templating.render(source, values)
    return {"subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html}
