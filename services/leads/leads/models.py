"""The leads database: captured stock, the entitlement read model, deliveries, day totals.

Exclusivity lives in the schema, not in code: ``deliveries.lead_id`` is the primary key,
so a lead can be delivered at most once, ever, whatever the number of service instances.
``stock`` is a narrow table of the leads for sale (accepted, unsold, not withdrawn);
selling a lead deletes its stock row and inserts its delivery in one statement.
"""
import importlib

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from suivi_common.tables import define_common_tables

metadata = MetaData()
common = define_common_tables(metadata)

ID = String(64)  # ids owned by other services (plans, accounts): opaque strings

capture_sites = Table(
    "capture_sites", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 hex of the key
    Column("key_prefix", String(16), nullable=False),  # shown to staff to tell keys apart
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
)

# One row per stored capture (accepted or duplicate). Personal data is one encrypted JSON
# blob under ``key_scope`` (the platform while in stock, the buyer's network once re-keyed);
# the blind indexes are under the same scope. Country and tier stay clear: they are the
# stock's sale attributes and identify nobody.
leads = Table(
    "leads", metadata,
    Column("id", Uuid, primary_key=True),
    Column("capture_site_id", Uuid, ForeignKey("capture_sites.id"), nullable=False),
    Column("status", String(16), nullable=False),  # accepted | duplicate
    Column("duplicate_of", Uuid),
    Column("country", String(2), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("captured_at", DateTime(timezone=True), nullable=False),
    Column("key_scope", String(64), nullable=False),
    Column("pii", LargeBinary),  # None once erased (crypto-shredded scope)
    Column("email_bidx", LargeBinary),
    Column("mobile_bidx", LargeBinary),
    Column("landline_bidx", LargeBinary),
    Column("withdrawn_at", DateTime(timezone=True)),
    Index("ix_leads_email_bidx", "email_bidx"),
    # the day close counts a group's unsold stock of a day (``distribution.settle_day``)
    Index("ix_leads_group_captured", "country", "tier", "captured_at",
          postgresql_where=text("status = 'accepted'")),
    Index("ix_leads_mobile_bidx", "mobile_bidx"),
    Index("ix_leads_landline_bidx", "landline_bidx"),
)

# Duplicate detection under the platform scope, kept after a sale (the re-keyed lead no
# longer carries platform indexes). One row per contact key; its row lock serialises
# concurrent captures of the same person across instances.
contacts = Table(
    "contacts", metadata,
    Column("kind", String(8), nullable=False),  # email | phone
    Column("digest", LargeBinary, nullable=False),
    Column("last_accepted_at", DateTime(timezone=True)),
    Column("last_lead_id", Uuid),
    PrimaryKeyConstraint("kind", "digest"),
)

stock = Table(
    "stock", metadata,
    Column("lead_id", Uuid, ForeignKey("leads.id"), primary_key=True),
    Column("country", String(2), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("captured_at", DateTime(timezone=True), nullable=False),
    Index("ix_stock_group_age", "country", "tier", "captured_at", "lead_id"),
)

# Read model of each plan's entitlement (snapshots from plans, newest version wins).
# ``auto_delivery_override`` is the owner's choice made here (PUT auto-delivery); it wins
# over the snapshot's flag. ``carry`` is the fair-share fraction carried between runs.
entitlements = Table(
    "entitlements", metadata,
    Column("plan_id", ID, primary_key=True),
    Column("user_id", ID, nullable=False, index=True),
    Column("network_id", ID, nullable=False),
    Column("status", String(20), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("country", String(2), nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("records_remaining", Integer, nullable=False, server_default="0"),
    Column("quota_schedule", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("auto_delivery", Boolean, nullable=False, server_default=text("false")),
    Column("auto_delivery_override", Boolean),
    Column("version", Integer, nullable=False),
    Column("carry", Float, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_entitlements_group", "country", "tier", postgresql_where=text("status = 'active'")),
)

# Running totals of the day per plan, updated under the entitlement row lock; the day's
# settlement (``distribution.settle_day``) writes the final shortfall here.
plan_days = Table(
    "plan_days", metadata,
    Column("plan_id", ID, nullable=False),
    Column("day", Date, nullable=False),
    Column("taken", Integer, nullable=False, server_default="0"),
    Column("shortfall", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("plan_id", "day"),
)

# Frozen totals reported to plans: one row per plan and date, so closing twice is a no-op.
day_closes = Table(
    "day_closes", metadata,
    Column("plan_id", ID, nullable=False),
    Column("day", Date, nullable=False),
    Column("taken", Integer, nullable=False),
    Column("shortfall", Integer, nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("plan_id", "day"),
)

# A day whose shortfall was settled (``distribution.settle_day``): once per day, for every
# group, at the first close of that day; a later close of the same day only reads.
day_settlements = Table(
    "day_settlements", metadata,
    Column("day", Date, primary_key=True),
    Column("plans", Integer, nullable=False),
    Column("groups", Integer, nullable=False),
    Column("settled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The facts each group's shortfall was computed from (``domain.shortfall``), kept to
# explain a plan's shortfall or forfeit afterwards. Only groups with open quota.
group_days = Table(
    "group_days", metadata,
    Column("country", String(2), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("day", Date, nullable=False),
    Column("open_quota", Integer, nullable=False),
    Column("leftover", Integer, nullable=False),
    Column("missing", Integer, nullable=False),
    Column("shares", JSONB, nullable=False),  # {plan_id: share of the missing stock}
    Column("settled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("country", "tier", "day"),
)

deliveries = Table(
    "deliveries", metadata,
    # Sold once, ever. No foreign key: a delivered id always comes from a stock row, which
    # references leads; the per-row check cost a third of a bulk delivery's time.
    Column("lead_id", Uuid, primary_key=True),
    Column("plan_id", ID, nullable=False),
    Column("user_id", ID, nullable=False),
    Column("network_id", ID, nullable=False),
    Column("day", Date, nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=False),
    Column("via", String(8), nullable=False),  # take | auto
    Column("rekeyed_at", DateTime(timezone=True)),
    Index("ix_deliveries_plan_day", "plan_id", "day"),
    Index("ix_deliveries_to_rekey", "delivered_at", postgresql_where=text("rekeyed_at IS NULL")),
)

# Read model of offices (accounts' subscription events); ``office.access`` asks accounts
# about a user it does not hold. ``source``: event (rows of older versions: rpc).
offices = Table(
    "offices", metadata,
    Column("user_id", ID, primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("subscription_id", ID),
    Column("source", String(8), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

stock_alerts = Table(
    "stock_alerts", metadata,
    Column("country", String(2), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("day", Date, nullable=False),
    Column("demand", Integer, nullable=False),
    Column("available", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("country", "tier", "day"),
)

# The office's tables live in the same database and metadata. Imported by name, not with
# ``from ... import``, so that importing leads.office.tables first (it imports this module)
# is no circular ImportError.
importlib.import_module("leads.office.tables")
