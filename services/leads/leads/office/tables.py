"""The office's tables, on the leads service's ``metadata`` (one database, one Alembic).

Personal data, and how it is protected:

* ``office_leads.data`` (the current record) and ``initial_data`` (the record as delivered
  or entered) are JSON blobs encrypted under the owner's network scope; AAD names the
  table, column and row. The blind indexes (email, each phone, postal code, city) are
  keyed HMACs under the same scope: exact-match filters never decrypt anything.
* Each lead also has its own random key (``lead_key``, wrapped under the network scope).
  History values are sealed with it. History is append-only, even for the database
  (trigger below), yet a lead erased on its data subject's request (or deleted by its
  owner) must not stay readable there: forgetting ``lead_key`` crypto-shreds exactly that
  lead's history, and nothing else.
* ``initial_data`` is write-once: a trigger refuses any change except erasing it (NULL).

Rows are never deleted: a deleted or erased lead stays as a tombstone without personal
data, so a redelivered ``lead_delivered`` event cannot bring it back (insert on conflict
do nothing on the lead id) and its claims keep their subject.

Why the listing indexes look like this: every listing is one owner's, newest first (or
by status), so each filter has an index ``(owner_id, <filter>, created_at, id)`` that
gives the page in order without sorting; all are partial on ``deleted_at IS NULL``.
"""
from __future__ import annotations

from sqlalchemy import (
    DDL,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from leads.models import ID, metadata

LIVE = text("deleted_at IS NULL")

office_leads = Table(
    "office_leads", metadata,
    Column("id", Uuid, primary_key=True),  # = the lead id for a purchased lead
    Column("owner_id", ID, nullable=False),
    Column("network_id", ID, nullable=False),  # the key scope of every encrypted column
    Column("origin", String(10), nullable=False),  # purchased | personal
    Column("plan_id", ID),
    Column("plan_country", String(2)),  # the country the plan bought in (refund checks)
    Column("status", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("data", LargeBinary),
    Column("initial_data", LargeBinary),
    Column("lead_key", LargeBinary),
    Column("email_bidx", LargeBinary),
    Column("mobile_bidx", LargeBinary),
    Column("landline_bidx", LargeBinary),
    Column("postal_bidx", LargeBinary),
    Column("city_bidx", LargeBinary),
    Column("erased_at", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    Column("deleted_by", ID),
    Index("ix_office_owner_created", "owner_id", "created_at", "id", postgresql_where=LIVE),
    Index("ix_office_owner_status", "owner_id", "status", "created_at", "id",
          postgresql_where=LIVE),
    Index("ix_office_owner_origin", "owner_id", "origin", "created_at", "id",
          postgresql_where=LIVE),
    Index("ix_office_owner_plan", "owner_id", "plan_id", "created_at", "id",
          postgresql_where=LIVE),
    Index("ix_office_owner_postal", "owner_id", "postal_bidx", "created_at", "id",
          postgresql_where=LIVE),
    Index("ix_office_owner_city", "owner_id", "city_bidx", "created_at", "id",
          postgresql_where=LIVE),
    Index("ix_office_owner_email", "owner_id", "email_bidx", postgresql_where=LIVE),
    Index("ix_office_owner_mobile", "owner_id", "mobile_bidx", postgresql_where=LIVE),
    Index("ix_office_owner_landline", "owner_id", "landline_bidx", postgresql_where=LIVE),
    Index("ix_office_network_status", "network_id", "status", postgresql_where=LIVE),
)

# Append-only (trigger below). Values are JSON sealed with the lead's own key.
office_history = Table(
    "office_history", metadata,
    Column("id", Uuid, primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("lead_id", Uuid, ForeignKey("office_leads.id"), nullable=False),
    Column("field", String(40), nullable=False),
    Column("old_value", LargeBinary),
    Column("new_value", LargeBinary),
    Column("actor_id", ID, nullable=False),
    Column("source", String(8), nullable=False),  # user | admin | staff | system
    Column("via", String(32), nullable=False),  # edit | status | note | pipeline_change | ...
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_office_history_lead", "lead_id", "seq"),
)

office_notes = Table(
    "office_notes", metadata,
    Column("id", Uuid, primary_key=True),
    Column("lead_id", Uuid, ForeignKey("office_leads.id"), nullable=False),
    Column("author_id", ID, nullable=False),
    Column("text", LargeBinary, nullable=False),  # network scope
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_office_notes_lead", "lead_id", "created_at", "id"),
)

office_pipelines = Table(
    "office_pipelines", metadata,
    Column("network_id", ID, primary_key=True),
    Column("statuses", JSONB, nullable=False),
    Column("initial", String(40), nullable=False),
    Column("terminal", JSONB, nullable=False),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", ID),
)

# One claim per lead, ever (the unique lead_id is the "already claimed" rule's last word).
refund_claims = Table(
    "refund_claims", metadata,
    Column("id", Uuid, primary_key=True),
    Column("lead_id", Uuid, ForeignKey("office_leads.id"), nullable=False, unique=True),
    Column("user_id", ID, nullable=False),
    Column("network_id", ID, nullable=False),
    Column("plan_id", ID, nullable=False),
    Column("reason", String(20), nullable=False),
    Column("comment", LargeBinary),  # network scope
    Column("checks", LargeBinary),  # JSON, network scope; None once the lead is erased
    Column("status", String(10), nullable=False),  # pending | approved | rejected
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", ID),
    Column("decision_comment", LargeBinary),  # network scope
    Index("ix_refund_claims_status", "status", "created_at", "id"),
    Index("ix_refund_claims_user", "user_id", "created_at", "id"),
)

# The export log (who, when, how many rows) and the finished files waiting for download.
office_exports = Table(
    "office_exports", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", ID, nullable=False),
    Column("network_id", ID, nullable=False),
    Column("format", String(4), nullable=False),  # xlsx | csv
    Column("lang", String(2), nullable=False),
    Column("filters", JSONB, nullable=False),  # search values (email, phone...) redacted
    Column("rows", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("downloaded_at", DateTime(timezone=True)),
    Index("ix_office_exports_user", "user_id", "created_at"),
)

office_export_chunks = Table(
    "office_export_chunks", metadata,
    Column("export_id", Uuid, ForeignKey("office_exports.id"), nullable=False),
    Column("n", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),  # network scope
    PrimaryKeyConstraint("export_id", "n"),
)

# --- database-level guards ---------------------------------------------------------------
# Plain statements, no '%' (sqlalchemy's DDL formats the text with '%'). The migration runs
# the same statements (op.execute each, in order).

HISTORY_DDL = (
    """CREATE OR REPLACE FUNCTION office_history_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'office_history is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'restrict_violation';
END
$$""",
    """CREATE TRIGGER office_history_append_only
BEFORE UPDATE OR DELETE ON office_history
FOR EACH ROW EXECUTE FUNCTION office_history_append_only()""",
)

OFFICE_LEADS_DDL = (
    """CREATE OR REPLACE FUNCTION office_leads_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.owner_id IS DISTINCT FROM OLD.owner_id
       OR NEW.network_id IS DISTINCT FROM OLD.network_id
       OR NEW.origin IS DISTINCT FROM OLD.origin
       OR NEW.plan_id IS DISTINCT FROM OLD.plan_id
       OR NEW.delivered_at IS DISTINCT FROM OLD.delivered_at
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR (NEW.initial_data IS DISTINCT FROM OLD.initial_data AND NEW.initial_data IS NOT NULL)
    THEN
        RAISE EXCEPTION USING
            MESSAGE = 'office_leads: the initial record and its provenance are immutable',
            ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$""",
    """CREATE TRIGGER office_leads_guard
BEFORE UPDATE ON office_leads
FOR EACH ROW EXECUTE FUNCTION office_leads_guard()""",
)

for _statement in HISTORY_DDL:
    event.listen(office_history, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in OFFICE_LEADS_DDL:
    event.listen(office_leads, "after_create", DDL(_statement).execute_if(dialect="postgresql"))

OFFICE_TABLES = (office_leads, office_history, office_notes, office_pipelines, refund_claims,
                 office_exports, office_export_chunks)

__all__ = ["OFFICE_TABLES", "office_leads", "office_history", "office_notes",
           "office_pipelines", "refund_claims", "office_exports", "office_export_chunks"]
