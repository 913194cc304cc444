"""The services' answers to a request's tasks (``data`` of ``dsr_task_reported``) and the
export archive built from them: sealed under a key of their own per request
(``dsr-data:<request id>``), apart from the request's identifiers (``dsr:<id>``), so that
destroying them shreds every copy, backups included, while the request itself, its
receipt and its identifiers stay."""
from __future__ import annotations

import json
import uuid
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult

from compliance.models import dsr_exports as X
from compliance.models import dsr_tasks as K
from compliance.usecases.context import Ctx


def scope_of(request_id: uuid.UUID) -> str:
    return f"dsr-data:{request_id}"


def seal(ctx: Ctx, request_id: uuid.UUID, service: str, data: Any) -> bytes | None:
    if data is None:
        return None
    return ctx.vault.encrypt(scope_of(request_id), "dsr_tasks", f"data:{service}", request_id,
                             json.dumps(data))


def open_(ctx: Ctx, request_id: uuid.UUID, service: str, blob: bytes | None) -> Any:
    text = ctx.vault.decrypt(scope_of(request_id), "dsr_tasks", f"data:{service}", request_id,
                             blob)
    return json.loads(text) if text is not None else None


def seal_archive(ctx: Ctx, request_id: uuid.UUID, content_b64: str) -> bytes:
    sealed = ctx.vault.encrypt(scope_of(request_id), "dsr_exports", "archive", request_id,
                               content_b64)
    assert sealed is not None
    return sealed


def open_archive(ctx: Ctx, request_id: uuid.UUID, blob: bytes) -> str:
    text = ctx.vault.decrypt(scope_of(request_id), "dsr_exports", "archive", request_id, blob)
    assert text is not None
    return text


def drop(ctx: Ctx, request_id: uuid.UUID) -> dict[str, Any]:
    """Delete the stored answers and any built archive, and shred their key (idempotent).
    Returns what went: the services whose answer held data, and whether an archive did."""
    held = list(ctx.session.execute(
        select(K.c.service).where(K.c.request_id == request_id, K.c.data.is_not(None))
        .order_by(K.c.service)).scalars())
    ctx.session.execute(update(K).where(K.c.request_id == request_id, K.c.data.is_not(None))
                        .values(data=None))
    archive = cast("CursorResult[Any]", ctx.session.execute(
        delete(X).where(X.c.request_id == request_id))).rowcount > 0
    ctx.vault.destroy(scope_of(request_id))
    return {"services": held, "archive": archive}
