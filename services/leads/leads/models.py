"""The leads database, one metadata: captured stock, the entitlement read model,
deliveries, day totals, and the office's tables (second half of this module).

Exclusivity lives in the schema, not in code: ``deliveries.lead_id`` is the primary key,
so a lead can be delivered at most once, ever, whatever the number of service instances.
``stock`` is a narrow table of the leads for sale (accepted, unsold, not withdrawn);
selling a lead deletes its stock row and inserts its delivery in one statement.
"""
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from suivi_common.end_of_contract import define_controller_shreds
from suivi_common.tables import define_common_tables

metadata = MetaData()
common = define_common_tables(metadata)

ID = String(64)  # ids owned by other services (plans, accounts): opaque strings

capture_sites = Table(
    "capture_sites", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("url", String(2048), nullable=False),
    # the kind of lead it collects (suivi_common.kinds); older sites: construction
    Column("kind", String(20), nullable=False, server_default="construction"),
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
    Column("kind", String(20), nullable=False, server_default="construction"),
    Column("captured_at", DateTime(timezone=True), nullable=False),
    Column("key_scope", String(64), nullable=False),
    Column("pii", LargeBinary),  # None once erased (crypto-shredded scope)
    Column("email_bidx", LargeBinary),
    Column("mobile_bidx", LargeBinary),
    Column("landline_bidx", LargeBinary),
    Column("withdrawn_at", DateTime(timezone=True)),
    # data-subject requests and retention (``usecases.subjects``, ``usecases.retention``)
    Column("restricted_at", DateTime(timezone=True)),  # kept, never sold (GDPR art. 18)
    Column("erased_at", DateTime(timezone=True)),  # pii and indexes gone
    Index("ix_leads_email_bidx", "email_bidx"),
    # the day close counts a group's unsold stock of a day (``usecases.daybook.settle_day``)
    Index("ix_leads_group_captured", "country", "tier", "kind", "captured_at",
          postgresql_where=text("status = 'accepted'")),
    Index("ix_leads_mobile_bidx", "mobile_bidx"),
    Index("ix_leads_landline_bidx", "landline_bidx"),
    # the retention sweep's unsold stock, oldest first (``usecases.retention``)
    Index("ix_leads_captured_unerased", "captured_at", "id",
          postgresql_where=text("pii IS NOT NULL")),
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
    Column("kind", String(20), nullable=False, server_default="construction"),
    Index("ix_stock_group_age", "country", "tier", "kind", "captured_at", "lead_id"),
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
    Column("kind", String(20), nullable=False, server_default="construction"),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("records_remaining", Integer, nullable=False, server_default="0"),
    Column("quota_schedule", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("auto_delivery", Boolean, nullable=False, server_default=text("false")),
    Column("auto_delivery_override", Boolean),
    Column("version", Integer, nullable=False),
    Column("carry", Float, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_entitlements_group", "country", "tier", "kind", postgresql_where=text("status = 'active'")),
)

# Running totals of the day per plan, updated under the entitlement row lock; the day's
# settlement (``usecases.daybook.settle_day``) writes the final shortfall here.
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

# A day whose shortfall was settled (``usecases.daybook.settle_day``): once per day, for every
# group, at the first close of that day; a later close of the same day only reads.
day_settlements = Table(
    "day_settlements", metadata,
    Column("day", Date, primary_key=True),
    Column("plans", Integer, nullable=False),
    Column("groups", Integer, nullable=False),
    Column("settled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # the plans it settled; one that is not here and has no day row arrived late and is
    # settled at its close (domain.shortfall, point 7). None on settlements older than
    # the column: every plan counts as covered
    Column("plan_ids", ARRAY(Text)),
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
    Column("kind", String(20), nullable=False, server_default="construction"),
    PrimaryKeyConstraint("country", "tier", "kind", "day"),
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

# Read model of offices (accounts' subscription events); ``usecases.office.access`` asks accounts
# about a user it does not hold. ``source``: event (rows of older versions: rpc).
offices = Table(
    "offices", metadata,
    Column("user_id", ID, primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("subscription_id", ID),
    Column("source", String(8), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # when the office last closed (None while open): the retention sweep counts from it
    Column("ended_at", DateTime(timezone=True)),
)

# Read model of members' take_leads permission (accounts' ``member_permissions_changed``):
# auto-delivery serves no plan of a member whose level lost it. No row: allowed (a member
# whose level never changed holds the default level, which grants everything).
member_permissions = Table(
    "member_permissions", metadata,
    Column("user_id", ID, primary_key=True),
    Column("take_leads", Boolean, nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
)

# Capture rate limits (issue 14 §3): requests per fixed window of the platform clock, per
# capture site ("key:<site id>") and per source address ("ip:<keyed hash>", never the
# address itself); windows before the current one are deleted as requests come.
capture_rate_windows = Table(
    "capture_rate_windows", metadata,
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("subject", String(80), primary_key=True),
    Column("hits", Integer, nullable=False),
)

stock_alerts = Table(
    "stock_alerts", metadata,
    Column("country", String(2), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("day", Date, nullable=False),
    Column("demand", Integer, nullable=False),
    Column("available", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", String(20), nullable=False, server_default="construction"),
    PrimaryKeyConstraint("country", "tier", "kind", "day"),
)


# --- the office -------------------------------------------------------------------------
# The office (part 2): the user's CRM, in the same database and metadata.
#
# Personal data, and how it is protected:
#
# * ``office_leads.data`` (the current record) and ``initial_data`` (the record as delivered
#   or entered) are JSON blobs encrypted under the owner's network scope; AAD names the
#   table, column and row. The blind indexes (email, each phone, postal code, city) are
#   keyed HMACs under the same scope: exact-match filters never decrypt anything.
# * Each lead also has its own random key (``lead_key``, wrapped under the network scope).
#   History values are sealed with it. History is append-only, even for the database
#   (a trigger), yet a lead erased on its data subject's request (or deleted by its
#   owner) must not stay readable there: forgetting ``lead_key`` crypto-shreds exactly that
#   lead's history, and nothing else.
# * ``initial_data`` is write-once: a trigger refuses any change except erasing it (NULL).
#   Both triggers exist only in the migrations (88d43bef22d8): every database, the tests'
#   included, is built by them.
#
# Rows are never deleted: a deleted or erased lead stays as a tombstone without personal
# data, so a redelivered ``lead_delivered`` event cannot bring it back (insert on conflict
# do nothing on the lead id) and its claims keep their subject.
#
# Why the listing indexes look like this: every listing is one owner's, newest first (or
# by status), so each filter has an index ``(owner_id, <filter>, created_at, id)`` that
# gives the page in order without sorting; all are partial on ``deleted_at IS NULL``.

LIVE = text("deleted_at IS NULL")

office_leads = Table(
    "office_leads", metadata,
    Column("id", Uuid, primary_key=True),  # = the lead id for a purchased lead
    Column("owner_id", ID, nullable=False),
    Column("network_id", ID, nullable=False),
    # the key scope of every encrypted column (notes and history included): the owner's
    # controller key ``<network>/<owner>``; None: the network's, a row written before
    # controller keys and not re-keyed yet (``usecases.office.controller_keys``)
    Column("key_scope", String(140)),
    Column("origin", String(10), nullable=False),  # purchased | personal | site
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
    # e-mails the mailer sent to the lead (``lead_email_sent``), shown in the export
    Column("emails_sent", Integer, nullable=False, server_default="0"),
    Column("last_emailed_at", DateTime(timezone=True)),
    # data-subject requests and retention (``usecases.subjects``, ``usecases.retention``)
    Column("restricted_at", DateTime(timezone=True)),  # GDPR art. 18: kept, not processed
    Column("erased_reason", String(24)),  # data_subject_request | retention | owner
    # distribution | construction (issue 13 §1): a purchased lead's is its plan's, a site
    # lead's its site's, one entered by hand its owner's choice (construction by default)
    Column("kind", String(20), nullable=False, server_default="construction"),
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
    # a network's statistics over a period (``usecases.stats``); an owner's use the
    # listing's ``ix_office_owner_created``
    Index("ix_office_network_created", "network_id", "created_at", postgresql_where=LIVE),
    # the rows of an owner that still hold data, deleted ones included, in id order: the
    # pick of the retention sweep, the end of contract and the bulk delete (``wiping``)
    Index("ix_office_owner_holding", "owner_id", "id",
          postgresql_where=text("data IS NOT NULL OR lead_key IS NOT NULL")),
    # the re-keying's candidates: rows still under their network's key that hold data
    Index("ix_office_legacy_key", "owner_id", "id",
          postgresql_where=text("key_scope IS NULL AND (data IS NOT NULL "
                                "OR lead_key IS NOT NULL)")),
    # a data subject is looked up across every office (``usecases.subjects``)
    Index("ix_office_email_bidx", "email_bidx", postgresql_where=text("email_bidx IS NOT NULL")),
    Index("ix_office_mobile_bidx", "mobile_bidx",
          postgresql_where=text("mobile_bidx IS NOT NULL")),
    Index("ix_office_landline_bidx", "landline_bidx",
          postgresql_where=text("landline_bidx IS NOT NULL")),
)

# Append-only (trigger in the migrations). Values are JSON sealed with the lead's own key.
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
    # a lead's last status move, read by the statistics of won leads (``usecases.stats``)
    Index("ix_office_history_status_moves", "lead_id", "changed_at",
          postgresql_where=text("field = 'status'")),
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

# One row per e-mail the mailer reported sent (``lead_email_sent``): its id is the
# primary key, so a report received twice counts once. No personal data here (the subject
# is in the lead's history, sealed with the lead's key).
office_emails = Table(
    "office_emails", metadata,
    Column("email_id", String(100), primary_key=True),
    Column("lead_id", Uuid, ForeignKey("office_leads.id"), nullable=False),
    Column("channel", String(8), nullable=False),  # gmail | smtp
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_office_emails_lead", "lead_id", "sent_at"),
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
    Column("key_scope", String(140)),  # as office_leads.key_scope (None: the network's)
    Index("ix_refund_claims_status", "status", "created_at", "id"),
    Index("ix_refund_claims_user", "user_id", "created_at", "id"),
    Index("ix_refund_claims_network", "network_id", "created_at"),  # statistics
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
    Column("key_scope", String(140)),  # the chunks' (None: the network's)
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


# --- data subjects (``usecases.subjects``, ``usecases.breaches``) ----------------------------

# One row per data-subject task done (compliance's ``dsr_task_requested``): a retry of the
# same request reports the same outcome again instead of acting twice.
subject_tasks = Table(
    "subject_tasks", metadata,
    Column("request_id", ID, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("found", Boolean, nullable=False),
    Column("records_affected", Integer, nullable=False),
    Column("error", String(500)),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("done_at", DateTime(timezone=True), nullable=False),
)

# The persons who objected (GDPR art. 21): a platform-scope blind index only (no address),
# kept through an erasure, so a new capture of the person is refused.
subject_objections = Table(
    "subject_objections", metadata,
    Column("kind", String(8), nullable=False),  # email | phone
    Column("digest", LargeBinary, nullable=False),
    Column("request_id", ID, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("kind", "digest"),
)

# The persons a controller approved notifying of a breach (art. 34): one row per breach and
# lead, so a redelivered request mails nobody twice; the mailer's address look-up
# (``breach_subject_contact``) answers only for these.
breach_subject_notices = Table(
    "breach_subject_notices", metadata,
    Column("breach_id", ID, nullable=False),
    Column("lead_id", Uuid, nullable=False),
    Column("user_id", ID, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("breach_id", "lead_id"),
)

# The stale-lead reminder (``usecases.stale_leads``, terms 3.B.iv): one run per Paris
# calendar month (``month`` = its first day), finished once every owner was looked at;
# one row per owner reminded in a month, so a resumed or concurrent run reminds nobody twice.
stale_reminder_runs = Table(
    "stale_reminder_runs", metadata,
    Column("month", Date, primary_key=True),
    Column("inactive_since", Date, nullable=False),
    Column("owners", Integer, nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
)

stale_reminders = Table(
    "stale_reminders", metadata,
    Column("month", Date, nullable=False),
    Column("owner_id", ID, nullable=False),
    Column("leads", Integer, nullable=False),
    Column("reminded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("month", "owner_id"),
)


# --- the end of contract (annex IV.12, ``usecases.office.end_of_contract``) ---------------------

# One row per controller (user) whose office data was destroyed: what went, the keys
# shredded; a repeated request reports this again instead of acting twice.
controller_shreds = define_controller_shreds(metadata)


# --- work documents (terms art. 3.A, ``usecases.documents``) ------------------------------------

# A document's name and content are sealed under its owner's controller key (``key_scope``,
# as the office's leads): the content with a key of its own (``doc_key``, wrapped under the
# controller key), so 10 MiB are sealed as bytes, once. Deleting a document deletes its row.
office_documents = Table(
    "office_documents", metadata,
    Column("id", Uuid, primary_key=True),
    Column("owner_id", ID, nullable=False),
    Column("network_id", ID, nullable=False),
    Column("key_scope", String(140), nullable=False),
    Column("name", LargeBinary, nullable=False),
    Column("family", String(10), nullable=False),  # pdf | image | office | text
    Column("content_type", String(120), nullable=False),  # detected from the bytes
    Column("size_bytes", Integer, nullable=False),
    Column("doc_key", LargeBinary, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("shared_with_network", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_office_documents_owner", "owner_id", "created_at", "id"),
)

# The bytes each office holds in documents: the quota is checked and taken with one
# conditional UPDATE of this row, so two uploads at once cannot both pass it.
office_document_usage = Table(
    "office_document_usage", metadata,
    Column("owner_id", ID, primary_key=True),
    Column("bytes_used", BigInteger, nullable=False, server_default=text("0")),
)

# --- the users' websites' capture forms (issue 13 §2, ``usecases.site_capture``) --------------

# What a visitor consented to on a member's site (annex IV.7): the exact information notice
# shown above the form's button and its version, the site's kind (the lead filed carries it
# too, issue 13 §1) and page; one row per accepted form, a duplicate's included
# (it names the lead it matched). Nothing personal: the person is the lead's sealed data.
site_consents = Table(
    "site_consents", metadata,
    Column("id", Uuid, primary_key=True),
    Column("lead_id", Uuid, ForeignKey("office_leads.id", ondelete="CASCADE"), nullable=False),
    Column("owner_id", ID, nullable=False),
    Column("kind", String(20), nullable=False),  # distribution | construction
    Column("page_id", ID, nullable=False),
    Column("notice_version", String(40), nullable=False),
    Column("notice_text", Text, nullable=False),
    Column("source_url", String(2048), nullable=False),
    Column("duplicate", Boolean, nullable=False, server_default=text("false")),
    Column("consented_at", DateTime(timezone=True), nullable=False),
    Index("ix_site_consents_lead", "lead_id", "consented_at"),
)
