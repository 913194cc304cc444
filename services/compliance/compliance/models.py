"""The compliance database: the audit trail, data-subject requests, breaches,
sub-processors. Personal data (a request's email, phone, note) is encrypted per request
(scope ``dsr:<id>``) so that completing an erasure can shred it with its key."""
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
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

# --- data-subject requests (annex IV.8) ---------------------------------------------------
dsr_requests = Table(
    "dsr_requests", metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("extension_months", SmallInteger, nullable=False, server_default="0"),
    Column("extensions", JSONB, nullable=False, server_default="[]"),  # [{months, reason, at, by}]
    # encrypted under the scope "dsr:<id>"; shredded once an erasure is completed
    Column("email", LargeBinary),
    Column("phone", LargeBinary),
    Column("note", LargeBinary),
    Column("changes", LargeBinary),  # a rectification's new values, as JSON
    Column("has_email", Boolean, nullable=False),
    Column("has_phone", Boolean, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("denied_reason", Text),
    Column("subject_shredded_at", DateTime(timezone=True)),
    # access/portability: when the services' answers (and any built archive) were destroyed
    Column("export_destroyed_at", DateTime(timezone=True)),
    # the person's subject indexes (``domain.subject.subject_index``: HMAC of the
    # normalised identifier under the master-key-derived subject-index key), so an erasure
    # finds the person's earlier requests by lookup, not by decrypting every request;
    # emptied with the subject when it is shredded
    Column("email_index", String(64)),
    Column("phone_index", String(64)),
    Index("ix_dsr_requests_email_index", "email_index",
          postgresql_where=text("email_index IS NOT NULL")),
    Index("ix_dsr_requests_phone_index", "phone_index",
          postgresql_where=text("phone_index IS NOT NULL")),
    # the destruction sweep's candidates: completed exports not destroyed yet
    Index("ix_dsr_requests_export_due", "completed_at",
          postgresql_where=text("export_destroyed_at IS NULL AND status = 'completed' "
                                "AND kind IN ('access', 'portability')")),
)

# One task per service holding personal data; (request, service) is the idempotence key.
dsr_tasks = Table(
    "dsr_tasks", metadata,
    Column("request_id", Uuid, ForeignKey("dsr_requests.id"), primary_key=True),
    Column("service", String(20), primary_key=True),
    Column("status", String(20), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False),
    Column("first_sent_at", DateTime(timezone=True), nullable=False),
    Column("last_sent_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("found", Boolean),
    Column("records_affected", Integer),
    Column("error", Text),
    # what the task returned, encrypted under the scope "dsr-data:<request id>" (shredded
    # when an export is destroyed, a request denied or an erasure completed)
    Column("data", LargeBinary),
)

# The archive of an access or portability request, built at its first download and served
# unchanged until it is destroyed (ZIP, base64, encrypted under "dsr-data:<request id>").
dsr_exports = Table(
    "dsr_exports", metadata,
    Column("request_id", Uuid, ForeignKey("dsr_requests.id"), primary_key=True),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("size", Integer, nullable=False),
    Column("archive", LargeBinary, nullable=False),
)

# --- breaches (annex IV.9) ------------------------------------------------------------------
breaches = Table(
    "breaches", metadata,
    Column("id", Uuid, primary_key=True),
    Column("nature", Text, nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("declared_at", DateTime(timezone=True), nullable=False),
    Column("declared_by", String(64), nullable=False),
    Column("data_categories", JSONB, nullable=False),
    Column("services", JSONB, nullable=False),
    Column("scope", JSONB, nullable=False),
    Column("likely_consequences", Text, nullable=False),
    Column("measures_taken", Text, nullable=False),
    Column("stage", Integer, nullable=False),  # 1: the first notice; +1 per update
    Column("counted_at", DateTime(timezone=True)),  # None: the scope could not be computed yet
    Column("count_error", Text),
)

# Stage 2 onwards: what each follow-up notice added.
breach_updates = Table(
    "breach_updates", metadata,
    Column("breach_id", Uuid, ForeignKey("breaches.id"), primary_key=True),
    Column("stage", Integer, primary_key=True, autoincrement=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
)

# The controllers (users) in a breach's scope, with their counts and their answer.
breach_controllers = Table(
    "breach_controllers", metadata,
    Column("breach_id", Uuid, ForeignKey("breaches.id"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("network_id", String(64)),
    Column("persons", Integer, nullable=False),
    Column("records", Integer, nullable=False),
    Column("counted_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("notify_authority", Boolean),
    Column("notify_subjects", Boolean),
    Column("authority_record", JSONB),
)

# One notice per controller and stage: requested of the mailer, then sent or failed.
breach_notices = Table(
    "breach_notices", metadata,
    Column("breach_id", Uuid, ForeignKey("breaches.id"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("stage", Integer, primary_key=True, autoincrement=False),
    Column("status", String(20), nullable=False),  # requested | sent | failed
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
)

# --- sub-processors (annex IV.6) ------------------------------------------------------------
# A sub-processor comes in by a change ("add" or "replace"), announced in writing to every
# controller before it takes effect; statuses are derived from the changes' dates.
subprocessors = Table(
    "subprocessors", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("contact", Text, nullable=False),
    Column("activity", Text, nullable=False),
    Column("country", String(2), nullable=False),
    Column("contract_start", Date, nullable=False),
    Column("contract_end", Date),
    Column("added_by_change", Uuid),  # None: registered from the start
    Column("created_at", DateTime(timezone=True), nullable=False),
)

subprocessor_changes = Table(
    "subprocessor_changes", metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(10), nullable=False),  # add | replace
    Column("subprocessor_id", Uuid, ForeignKey("subprocessors.id"), nullable=False),
    Column("replaces_id", Uuid, ForeignKey("subprocessors.id")),
    Column("notice_sent_at", DateTime(timezone=True), nullable=False),
    Column("effective_from", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
)

subprocessor_objections = Table(
    "subprocessor_objections", metadata,
    Column("change_id", Uuid, ForeignKey("subprocessor_changes.id"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("network_id", String(64)),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# --- the end of contract (annex IV.12; ``compliance.domain.end_of_contract``) ---------------
# One per controller, ever. The archive (ZIP, base64) is sealed under ``eoc:<id>``, shredded
# once the holders destroyed the data; the certificate stays.
end_of_contracts = Table(
    "end_of_contracts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", String(64), nullable=False, unique=True),
    Column("status", String(20), nullable=False, index=True),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_sent_at", DateTime(timezone=True), nullable=False),
    Column("reports", JSONB, nullable=False, server_default="{}"),  # service -> {records, at}
    Column("ready_at", DateTime(timezone=True)),
    Column("archive", LargeBinary),
    Column("archive_filename", String(200)),
    Column("archive_size", Integer),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("shred_requested_at", DateTime(timezone=True)),
    Column("shred_reports", JSONB, nullable=False, server_default="{}"),
    Column("destroyed_at", DateTime(timezone=True)),
    Column("certificate", JSONB),
)
