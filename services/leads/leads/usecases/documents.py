"""Work documents of an office (terms art. 3.A): upload, list, download, share, delete; the
admin's view of what a member shares; and the owner's documents at the end of contract.

* **Ownership** is part of every lookup (``owner_id`` in the WHERE clause): another user's
  document is not found, whether it exists or not (terms art. 10.A). The admin reaches a
  member's document only through ``shared_with_network`` and the member's network, after
  the entrypoint checked the member's admin-access switch (art. 5).
* **At rest** the name and the content are sealed under the owner's controller key
  (``office_scope``, as the office's leads): the content with a random key of its own, sealed
  as bytes (``crypto.seal``, bound to the row), that key wrapped by the vault. Shredding the
  controller's key (the end of contract) makes every document of theirs unreadable.
* **Quota.** ``office_document_usage`` holds the bytes of each office's documents. An
  upload takes its size with ``UPDATE ... SET bytes_used = bytes_used + n WHERE bytes_used
  + n <= quota``: the row lock serialises two uploads of one office, and the second one's
  WHERE is evaluated again on the first one's committed value (PostgreSQL re-checks an
  updated row), so they cannot both pass. A deletion gives the bytes back in the same
  transaction as it deletes the row.
"""
from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from leads.domain import documents as rules
from leads.models import office_document_usage, office_documents
from leads.settings import TUNABLES
from leads.usecases.office.context import OfficeCtx, new_lead_key, office_scope
from suivi_common.crypto import KeyDestroyed, aad, open_sealed, seal
from suivi_common.errors import Conflict, Invalid, NotFound, TooLarge, UnsupportedMediaType
from suivi_common.ids import parse_uuid
from suivi_common.paging import keyset, page

T = office_documents
U = office_document_usage
TABLE = "office_documents"
PAGE_KIND = "documents"
LISTED = (T.c.id, T.c.owner_id, T.c.network_id, T.c.key_scope, T.c.name, T.c.family,
          T.c.content_type, T.c.size_bytes, T.c.shared_with_network, T.c.created_at,
          T.c.updated_at)


def quota_bytes() -> int:
    return TUNABLES.get_int("DOCUMENT_QUOTA_BYTES")


# --- sealing ---------------------------------------------------------------------------------

def _wrap_key(ctx: OfficeCtx, scope: str, doc_id: uuid.UUID, key: bytes) -> bytes:
    wrapped = ctx.vault.encrypt(scope, TABLE, "doc_key", doc_id, base64.b64encode(key).decode())
    assert wrapped is not None
    return wrapped


def _content_key(ctx: OfficeCtx, row: Any) -> bytes:
    clear = ctx.vault.decrypt(row.key_scope, TABLE, "doc_key", row.id, row.doc_key)
    return base64.b64decode(clear or "")


def _name(ctx: OfficeCtx, row: Any) -> str:
    return ctx.vault.decrypt(row.key_scope, TABLE, "name", row.id, row.name) or ""


def view(ctx: OfficeCtx, row: Any, name: str | None = None) -> dict[str, Any]:
    return {"id": str(row.id), "name": _name(ctx, row) if name is None else name, "family": row.family,
            "content_type": row.content_type, "size_bytes": row.size_bytes,
            "shared_with_network": row.shared_with_network,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}


# --- the quota --------------------------------------------------------------------------------

def take_quota(ctx: OfficeCtx, owner_id: str, size: int) -> int:
    """Take ``size`` bytes of the owner's quota in this transaction (the row stays locked
    until it ends); the bytes used after it, or Conflict ``document_quota_exceeded``."""
    quota = quota_bytes()
    ctx.session.execute(pg_insert(U).values(owner_id=owner_id, bytes_used=0)
                        .on_conflict_do_nothing(index_elements=[U.c.owner_id]))
    # the same rule as ``rules.fits``, evaluated by PostgreSQL on the row's latest value
    used = ctx.session.execute(
        update(U).where(U.c.owner_id == owner_id, U.c.bytes_used + size <= quota)
        .values(bytes_used=U.c.bytes_used + size).returning(U.c.bytes_used)).scalar()
    if used is None:
        held = int(ctx.session.execute(select(U.c.bytes_used).where(
            U.c.owner_id == owner_id)).scalar() or 0)
        assert not rules.fits(held, size, quota)
        raise Conflict(f"This document does not fit the office's {quota} bytes of documents",
                       code="document_quota_exceeded",
                       fields={"quota_bytes": quota, "used_bytes": held, "size_bytes": size})
    return int(used)


def usage(ctx: OfficeCtx, owner_id: str) -> dict[str, Any]:
    used = int(ctx.session.execute(select(U.c.bytes_used).where(
        U.c.owner_id == owner_id)).scalar() or 0)
    return {"used_bytes": used, "quota_bytes": quota_bytes()}


def _give_back(ctx: OfficeCtx, owner_id: str, size: int) -> None:
    ctx.session.execute(update(U).where(U.c.owner_id == owner_id).values(
        bytes_used=func.greatest(U.c.bytes_used - size, 0)))


# --- commands ---------------------------------------------------------------------------------

def decode_content(data: Any) -> bytes:
    """The upload's bytes from the RPC's base64 (the gateway encodes them)."""
    if not isinstance(data, str):
        raise Invalid("The document's content is missing", fields={"file": "required"})
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("The document's content is not base64", fields={"file": "invalid"}) from None


def upload(ctx: OfficeCtx, owner_id: str, network_id: str, name: Any, data: Any,
           shared: Any = False) -> dict[str, Any]:
    """Keep a document in the owner's office: checked (size, type from its bytes, quota),
    then sealed under the owner's key."""
    content = decode_content(data)
    if not isinstance(shared, bool):
        raise Invalid("shared_with_network must be true or false",
                      fields={"shared_with_network": "boolean"})
    if name is not None and not isinstance(name, str):
        raise Invalid("The file name must be text", fields={"file": "invalid name"})
    if len(content) > rules.MAX_DOCUMENT_BYTES:
        raise TooLarge(f"A document is at most {rules.MAX_DOCUMENT_BYTES} bytes",
                       code="document_too_large",
                       fields={"max_bytes": rules.MAX_DOCUMENT_BYTES})
    if not content:
        raise Invalid("The document is empty", fields={"file": "empty"}, code="document_empty")
    kind = rules.detect(content, name or "")
    if kind is None:
        raise UnsupportedMediaType(
            "Accepted: PDF, PNG/JPEG/GIF/WebP images, office documents (OOXML, "
            "OpenDocument, legacy Office) and UTF-8 text",
            code="unsupported_document_type")
    clean = rules.clean_name(name, kind)
    doc_id = uuid.uuid4()
    scope = office_scope(network_id, owner_id)
    key = new_lead_key()
    row = {"id": doc_id, "owner_id": owner_id, "network_id": network_id, "key_scope": scope,
           "name": ctx.vault.encrypt(scope, TABLE, "name", doc_id, clean),
           "family": kind.family.value, "content_type": kind.content_type,
           "size_bytes": len(content), "doc_key": _wrap_key(ctx, scope, doc_id, key),
           "content": seal(key, content, aad(TABLE, "content", doc_id)),
           "shared_with_network": shared, "created_at": ctx.now, "updated_at": ctx.now}
    # sealed first: the office's usage row stays locked only for the insert and the commit
    take_quota(ctx, owner_id, len(content))
    ctx.session.execute(T.insert().values(**row))
    return view(ctx, _load(ctx, doc_id), clean)


def _load(ctx: OfficeCtx, doc_id: Any, *where: Any, lock: bool = False,
          columns: tuple[Any, ...] = LISTED) -> Any:
    did = parse_uuid(doc_id)
    if did is None:
        raise NotFound("No such document")
    query = select(*columns).where(T.c.id == did, *where)
    if lock:
        query = query.with_for_update()
    row = ctx.session.execute(query).first()
    if row is None:
        raise NotFound("No such document")
    return row


def list_mine(ctx: OfficeCtx, owner_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
    rows = ctx.session.execute(keyset(select(*LISTED).where(T.c.owner_id == owner_id), T,
                                      cursor, limit, newest_first=True, kind=PAGE_KIND)).all()
    result = page(rows, limit, [view(ctx, r) for r in rows[:limit]], kind=PAGE_KIND)
    result.update(usage(ctx, owner_id))
    return result


def _download(ctx: OfficeCtx, row: Any) -> dict[str, Any]:
    try:
        key = _content_key(ctx, row)
        content = open_sealed(key, bytes(row.content), aad(TABLE, "content", row.id))
    except KeyDestroyed:  # the owner's key was shredded: the document is gone
        raise NotFound("No such document") from None
    return {**view(ctx, row), "data": base64.b64encode(content).decode()}


def download(ctx: OfficeCtx, owner_id: str, doc_id: Any) -> dict[str, Any]:
    return _download(ctx, _load(ctx, doc_id, T.c.owner_id == owner_id,
                                columns=(*LISTED, T.c.doc_key, T.c.content)))


def set_shared(ctx: OfficeCtx, owner_id: str, doc_id: Any, shared: Any) -> dict[str, Any]:
    if not isinstance(shared, bool):
        raise Invalid("shared_with_network must be true or false",
                      fields={"shared_with_network": "boolean"})
    row = _load(ctx, doc_id, T.c.owner_id == owner_id, lock=True)
    if row.shared_with_network != shared:
        ctx.session.execute(update(T).where(T.c.id == row.id).values(
            shared_with_network=shared, updated_at=ctx.now))
    return view(ctx, _load(ctx, row.id))


def delete_one(ctx: OfficeCtx, owner_id: str, doc_id: Any) -> dict[str, Any]:
    """The row goes, content and name with it; its bytes return to the quota."""
    row = _load(ctx, doc_id, T.c.owner_id == owner_id, lock=True)
    ctx.session.execute(delete(T).where(T.c.id == row.id))
    _give_back(ctx, owner_id, row.size_bytes)
    return {"id": str(row.id), "deleted": True}


# --- the admin's view (terms art. 5) ---------------------------------------------------------

def _shared(member_id: str, network_id: str) -> tuple[Any, ...]:
    return (T.c.owner_id == member_id, T.c.network_id == network_id,
            T.c.shared_with_network.is_(True))


def list_shared(ctx: OfficeCtx, member_id: str, network_id: str, cursor: str | None,
                limit: int) -> dict[str, Any]:
    """What a member shares with their network, for its admin (who checked access)."""
    rows = ctx.session.execute(keyset(select(*LISTED).where(*_shared(member_id, network_id)),
                                      T, cursor, limit, newest_first=True,
                                      kind=PAGE_KIND)).all()
    return page(rows, limit, [view(ctx, r) for r in rows[:limit]], kind=PAGE_KIND)


def download_shared(ctx: OfficeCtx, member_id: str, network_id: str,
                    doc_id: Any) -> dict[str, Any]:
    """A document not shared is not found, as another member's."""
    return _download(ctx, _load(ctx, doc_id, *_shared(member_id, network_id),
                                columns=(*LISTED, T.c.doc_key, T.c.content)))


# --- the owner's data as a whole (end of contract, retention) -----------------------------

def describe_owner(ctx: OfficeCtx, owner_id: str) -> list[dict[str, Any]]:
    """Every document of the owner, without its content (the end-of-contract archive)."""
    rows = ctx.session.execute(select(*LISTED).where(T.c.owner_id == owner_id)
                               .order_by(T.c.created_at, T.c.id)).all()
    out = []
    for r in rows:
        try:
            out.append(view(ctx, r))
        except KeyDestroyed:
            continue
    return out


def count_owner(ctx: OfficeCtx, owner_id: str) -> int:
    return int(ctx.session.execute(select(func.count()).select_from(T).where(
        T.c.owner_id == owner_id)).scalar() or 0)


def erase_owner(ctx: OfficeCtx, owner_id: str) -> int:
    """Delete every document of the owner and their usage row; returns how many."""
    gone = ctx.session.execute(delete(T).where(T.c.owner_id == owner_id)
                               .returning(T.c.id)).all()
    ctx.session.execute(delete(U).where(U.c.owner_id == owner_id))
    return len(gone)



_DUE = text("""
WITH due AS (
    SELECT d.id FROM office_documents d JOIN offices o ON o.user_id = d.owner_id
    WHERE NOT o.active AND o.ended_at < :ended_before
    ORDER BY d.id LIMIT :limit FOR UPDATE OF d SKIP LOCKED),
gone AS (DELETE FROM office_documents WHERE id IN (SELECT id FROM due)
         RETURNING owner_id, size_bytes),
freed AS (SELECT owner_id, sum(size_bytes) AS bytes FROM gone GROUP BY owner_id),
back AS (UPDATE office_document_usage u SET bytes_used = greatest(u.bytes_used - f.bytes, 0)
         FROM freed f WHERE u.owner_id = f.owner_id RETURNING 1)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM back)
""")


def retention_batch(session: Session, ended_before: Any, limit: int) -> int:
    """Delete up to ``limit`` documents of offices ended before ``ended_before`` (the
    retention sweep's term for the office's content, ``OFFICE_RETENTION_MONTHS``)."""
    row = session.execute(_DUE, {"ended_before": ended_before, "limit": limit}).one()
    return int(row[0])
