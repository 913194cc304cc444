"""The plans database: plans and their extensions, absences, sales closures, the day
reports received from leads, refund credits already applied, and the data-subject
requests plans carried out.

A plan's business state is the domain entity's ``to_dict()`` in ``state`` (JSONB), so
the persistence layer never re-implements a rule; the columns beside it are copies kept
for queries (who owns it, which plans need a day close) and for the money trail.
"""
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from suivi_common.tables import define_common_tables

metadata = MetaData()
common = define_common_tables(metadata)

plans = Table(
    "plans", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("network_id", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("country", String(2), nullable=False),
    # the office kind it buys (issue 13 §1); also in ``state``
    Column("kind", String(20), nullable=False, server_default="construction"),
    Column("state", JSONB, nullable=False),
    Column("version", Integer, nullable=False, server_default=text("0")),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("next_close_date", Date),
    Column("records_ordered", Integer, nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("payment_method", String(30), nullable=False),
    Column("payment_id", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("activated_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_plans_user_created", "user_id", "created_at", "id"),
    Index("ix_plans_status_next_close", "status", "next_close_date"),
)

extensions = Table(
    "extensions", metadata,
    Column("id", Uuid, primary_key=True),
    Column("plan_id", Uuid, ForeignKey("plans.id"), nullable=False, index=True),
    Column("user_id", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("records", Integer, nullable=False),
    Column("unit_price_cents", Integer, nullable=False),
    Column("gross_cents", Integer, nullable=False),
    Column("credit_applied_cents", Integer, nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("payment_method", String(30)),
    Column("payment_id", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("paid_at", DateTime(timezone=True)),
    Column("applied_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

absences = Table(
    "absences", metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(20), nullable=False),  # planned | force_majeure
    Column("user_id", String(64), nullable=False),
    Column("network_id", String(64), nullable=False),
    Column("plan_id", Uuid, ForeignKey("plans.id")),  # force majeure only
    Column("plan_ids", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("requested_on", Date, nullable=False),
    Column("quarter", String(7)),  # "2026-Q3", planned only: one per user per quarter
    Column("status", String(20), nullable=False),
    Column("reason", String(40)),
    Column("details", LargeBinary),  # encrypted (may describe health or family matters)
    Column("decided_on", Date),
    Column("decided_by", String(64)),
    Column("staff_comment", Text),
    Column("records_restored", Integer, nullable=False, server_default=text("0")),
    Column("proof", LargeBinary),  # encrypted file bytes (base64 inside the envelope)
    Column("proof_mime", String(40)),
    Column("proof_size", Integer),
    Column("proof_uploaded_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # data-subject requests: details, proof and comment erased; their processing restricted
    Column("erased_at", DateTime(timezone=True)),
    Column("restricted_at", DateTime(timezone=True)),
    Index("ix_absences_user_created", "user_id", "created_at", "id"),
    Index("ix_absences_kind_status", "kind", "status", "created_at"),
    Index("uq_absences_planned_quarter", "user_id", "quarter", unique=True,
          postgresql_where=text("kind = 'planned'")),
)

sales_closures = Table(
    "sales_closures", metadata,
    Column("id", Uuid, primary_key=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("countries", JSONB, nullable=False),
    Column("tiers", JSONB, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("declared_by", String(64), nullable=False),
    Column("plans_affected", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_sales_closures_end", "end_date"),
)

day_reports = Table(
    "day_reports", metadata,
    Column("plan_id", Uuid, ForeignKey("plans.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("taken", Integer, nullable=False),
    Column("shortfall", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # pending | applied | ignored
    Column("outcome", JSONB),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("applied_at", DateTime(timezone=True)),
)

refund_credits = Table(
    "refund_credits", metadata,
    Column("claim_id", String(64), primary_key=True),
    Column("plan_id", String(64), nullable=False),
    Column("lead_id", String(64)),
    Column("user_id", String(64)),
    Column("status", String(20), nullable=False),  # credited | refused
    Column("note", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: Data-subject requests plans carried out (ids and counts only): a task done is never
#: done again (compliance may ask again a task it thinks late).
subject_requests = Table(
    "subject_requests", metadata,
    Column("request_id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("user_ids", JSONB, nullable=False),
    Column("found", Boolean, nullable=False),
    Column("records_affected", Integer, nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=False),
)
