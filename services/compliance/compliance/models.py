"""The compliance database: the audit trail, data-subject requests, breaches,
sub-processors. Personal data (a request's email, phone, note) is encrypted per request
(scope ``dsr:<id>``) so that completing an erasure can shred it with its key."""
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    SmallInteger,
    String,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from suivi_common.tables import define_common_tables

metadata = MetaData()
common = define_common_tables(metadata)

# --- the audit trail (annex IV.15) --------------------------------------------------------
# Append-only: a trigger (migration) refuses UPDATE and DELETE; ``seq`` is assigned by the
# appender under the head row's lock, so it has no gaps and two appends never share a
# predecessor.
audit_entries = Table(
    "audit_entries", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", Uuid, nullable=False, unique=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(100), nullable=False, index=True),
    Column("actor", JSONB, nullable=False),
    Column("subject", JSONB, nullable=False),
    Column("details", JSONB, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # "<source service>:<message id>" of the event an entry records (one entry per event)
    Column("source_message", String(200), unique=True),
)

# One row: the last sequence number and hash. Locked by every append (the serial point)
# and compared with the last entry by verification (a cut tail is detected).
audit_head = Table(
    "audit_head", metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
