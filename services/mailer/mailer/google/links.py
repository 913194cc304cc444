"""The two Google tables, read and written through the worker's session (``SqlLinks``
is the use cases' ``LinkStore`` over them).

The address is personal data: encrypted under the platform scope, bound to its row (the
user id). Authorizations in progress are consumed with ``DELETE ... RETURNING``, so two
callbacks racing with one state cannot both get it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from mailer.google import oauth
from mailer.google.tables import google_authorizations, google_links
from suivi_common.crypto import PLATFORM_SCOPE, Vault
from suivi_common.database import rows_affected


@dataclass(frozen=True)
class Link:
    address: str
    linked_at: datetime


@dataclass(frozen=True)
class PendingAuthorization:
    user_id: str
    binding_hash: str
    expires_at: datetime


def save_link(session: Session, vault: Vault, user_id: str, address: str,
              now: datetime) -> Link:
    sealed = vault.encrypt(PLATFORM_SCOPE, "google_links", "address", user_id, address)
    statement = insert(google_links).values(user_id=user_id, address=sealed, linked_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=["user_id"], set_={"address": sealed, "linked_at": now}))
    return Link(address, now)


def get_link(session: Session, vault: Vault, user_id: str) -> Link | None:
    row = session.execute(select(google_links.c.address, google_links.c.linked_at)
                          .where(google_links.c.user_id == user_id)).first()
    if row is None:
        return None
    address = vault.decrypt(PLATFORM_SCOPE, "google_links", "address", user_id, row.address)
    return Link(str(address), row.linked_at)


def delete_link(session: Session, user_id: str) -> bool:
    return bool(rows_affected(session.execute(delete(google_links).where(
        google_links.c.user_id == user_id))))


def save_authorization(session: Session, state_hash: str, user_id: str, binding_hash: str,
                       expires_at: datetime, now: datetime) -> None:
    """Record an authorization in progress; forget those that expired."""
    session.execute(delete(google_authorizations).where(
        google_authorizations.c.expires_at <= now))
    session.execute(insert(google_authorizations).values(
        state_hash=state_hash, user_id=user_id, binding_hash=binding_hash,
        expires_at=expires_at))


def take_authorization(session: Session, state_hash: str) -> PendingAuthorization | None:
    """The authorization of this state, removed: a state is good for one callback."""
    row = session.execute(delete(google_authorizations)
                          .where(google_authorizations.c.state_hash == state_hash)
                          .returning(google_authorizations.c.user_id,
                                     google_authorizations.c.binding_hash,
                                     google_authorizations.c.expires_at)).first()
    if row is None:
        return None
    return PendingAuthorization(row.user_id, row.binding_hash, row.expires_at)


class SqlLinks:
    """The use cases' ``LinkStore`` over a worker's ``Db`` (session, vault, autonomous)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def save_authorization(self, state_hash: str, user_id: str, binding_hash: str,
                           expires_at: datetime, now: datetime) -> None:
        save_authorization(self.db.session, state_hash, user_id, binding_hash, expires_at, now)

    def take_authorization(self, state_hash: str) -> PendingAuthorization | None:
        with self.db.autonomous() as tx:  # consumed even if what follows fails: single use
            return take_authorization(tx, state_hash)

    def save_link(self, user_id: str, address: str, now: datetime) -> Link:
        return save_link(self.db.session, self.db.vault, user_id, address, now)

    def get_link(self, user_id: str) -> Link | None:
        return get_link(self.db.session, self.db.vault, user_id)

    def delete_link(self, user_id: str) -> bool:
        return delete_link(self.db.session, user_id)

    def pkce_key(self) -> bytes:
        return bytes(self.db.vault.subkey(oauth.PKCE_PURPOSE))
