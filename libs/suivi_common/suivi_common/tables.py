"""Tables every service keeps in its own database: outbox, inbox, dead letters, data keys.

They are defined once here and added to each service's own MetaData so that each
service's Alembic migrations create them in that service's database only.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class CommonTables:
    outbox: Table
    inbox: Table
    dead_letters: Table
    data_keys: Table


def define_common_tables(metadata: MetaData) -> CommonTables:
    outbox = Table(
        "outbox", metadata,
        Column("id", Uuid, primary_key=True),
        Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    inbox = Table(
        "inbox", metadata,
        Column("message_id", String(100), primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    dead_letters = Table(
        "dead_letters", metadata,
        Column("id", Uuid, primary_key=True),
        Column("queue", String(300), nullable=False),
        Column("handler", String(200), nullable=False),
        Column("message_id", String(100), nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("replayed_at", DateTime(timezone=True)),
    )
    data_keys = Table(
        "data_keys", metadata,
        Column("scope", String(64), primary_key=True),
        Column("wrapped_key", LargeBinary),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("destroyed_at", DateTime(timezone=True)),
    )
    return CommonTables(outbox, inbox, dead_letters, data_keys)
