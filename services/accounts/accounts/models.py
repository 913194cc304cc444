"""The accounts database: networks, users and their credentials, sessions, terms,
access levels, subscriptions and payments, plus the tables every service keeps.

Personal data (email, names, phone, postal address, the IP kept with a terms
acceptance, a rectification's previous value) is stored encrypted (``LargeBinary``) under
the user's network scope, staff under the platform scope; ``users.email_index`` is a blind
index under the platform scope, unique across the platform (one email, one account, one
network), ``users.phone_index`` one of the phone (not unique: a number may be shared).

An erased user (data-subject request, or the retention sweep 12 months after the end of
the relationship: ``usecases.retention``) keeps its row, id and dates, with ``email``,
``email_index``, phone and password cleared (see ``usecases.subject_requests``).
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from suivi_common.tables import define_common_tables

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})
common = define_common_tables(metadata)


def _ts(name: str, nullable: bool = True) -> Column:
    return Column(name, DateTime(timezone=True), nullable=nullable)


networks = Table(
    "networks", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("name_key", String(120), nullable=False, unique=True),  # lower-cased name
    Column("announcement", Text),
    Column("open_countries", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
)

access_levels = Table(
    "access_levels", metadata,
    Column("id", Uuid, primary_key=True),
    Column("network_id", Uuid, ForeignKey("networks.id"), nullable=False),
    Column("name", String(60), nullable=False),
    Column("permissions", JSONB, nullable=False),
    # the network's default level: members without a level of their own hold it; it
    # cannot be deleted (one per network)
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    _ts("created_at", nullable=False),
    _ts("updated_at"),
    UniqueConstraint("network_id", "name"),
    Index("uq_access_levels_default", "network_id", unique=True,
          postgresql_where=text("is_default")),
)

#: Admin tool 3: a statistics model, a metric cut by a grouping over a window of days
#: (``domain.stat_models``); counted where the data lives (``suivi_common.stats``).
stat_models = Table(
    "stat_models", metadata,
    Column("id", Uuid, primary_key=True),
    Column("network_id", Uuid, ForeignKey("networks.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("metric", String(30), nullable=False),
    Column("grouping", String(20), nullable=False),
    Column("window_days", Integer, nullable=False),
    Column("created_by", Uuid, nullable=False),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    UniqueConstraint("network_id", "name"),
    Index(None, "network_id", "created_at", "id"),
)

users = Table(
    "users", metadata,
    Column("id", Uuid, primary_key=True),
    Column("network_id", Uuid, ForeignKey("networks.id")),
    Column("role", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("email_index", LargeBinary, unique=True),  # NULL once erased
    Column("email", LargeBinary),  # NULL once erased
    Column("first_name", LargeBinary),
    Column("last_name", LargeBinary),
    Column("phone", LargeBinary),
    Column("phone_index", LargeBinary, index=True),
    Column("address", LargeBinary),
    Column("password_hash", String(255)),
    _ts("password_changed_at"),
    Column("admin_access", Boolean, nullable=False, server_default=text("true")),
    Column("access_level_id", Uuid, ForeignKey("access_levels.id", ondelete="SET NULL")),
    _ts("invited_at"),
    _ts("contract_concluded_at"),
    _ts("last_login_at"),
    _ts("status_changed_at"),
    _ts("created_at", nullable=False),
    # data-subject requests: erased (identifiers gone; also the retention sweep),
    # processing restricted, objection
    _ts("erased_at"),
    _ts("restricted_at"),
    _ts("objected_at"),
    # names and postal address kept after an erasure for the invoices, until this day
    Column("billing_retained_until", Date),
    # the member's public sites, ``/s/{slug}/`` (issue 13 §2): set when the member is
    # created, never reused; staff have none
    Column("slug", String(80), unique=True),
    CheckConstraint("role IN ('user', 'admin', 'staff', 'compliance')", name="role"),
    CheckConstraint("status IN ('invited', 'active', 'suspended', 'closed', 'terminated')",
                    name="status"),
    CheckConstraint("(role IN ('staff', 'compliance')) = (network_id IS NULL)", name="network"),
    CheckConstraint("erased_at IS NOT NULL OR (email IS NOT NULL AND email_index IS NOT NULL)",
                    name="identified"),
    Index(None, "network_id", "created_at", "id"),
)

sessions = Table(
    "sessions", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    _ts("created_at", nullable=False),
    _ts("last_used_at", nullable=False),
    _ts("expires_at", nullable=False),
    _ts("revoked_at"),
    # where the login came from, shown in the user's list of sessions; encrypted under the
    # user's scope like their other personal data (NULL for sessions opened before)
    Column("ip", LargeBinary),
    Column("user_agent", LargeBinary),
)

password_tokens = Table(
    "password_tokens", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("purpose", String(20), nullable=False),  # invitation | reset | email_change
    # an email change's new address, encrypted like users.email (NULL for the others)
    Column("new_email", LargeBinary),
    _ts("created_at", nullable=False),
    _ts("expires_at", nullable=False),
    _ts("used_at"),
    _ts("revoked_at"),
)

# An admin's invitation of an address that has an account in another network (or is
# staff): answered and remembered like an invitation (inviting it again is the same
# conflict), but it creates no account and sends no link (``usecases.invitations``). The
# names and address are sealed under the admin's network scope, like its members' data.
masked_invitations = Table(
    "masked_invitations", metadata,
    Column("id", Uuid, primary_key=True),
    Column("network_id", Uuid, ForeignKey("networks.id"), nullable=False),
    Column("email_index", LargeBinary, nullable=False),  # users.email_index's blind index
    Column("email", LargeBinary, nullable=False),
    Column("first_name", LargeBinary),
    Column("last_name", LargeBinary),
    # the hash a real invitation's link would have: computed so both paths do the same work
    Column("token_hash", LargeBinary, nullable=False),
    # an access level the admin assigned, as to an invited member (NULL: the default)
    Column("access_level_id", Uuid, ForeignKey("access_levels.id", ondelete="SET NULL")),
    _ts("created_at", nullable=False),  # the invitation's time (members are paged by it)
    UniqueConstraint("network_id", "email_index"),
)

login_failures = Table(
    "login_failures", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("key", String(80), nullable=False),  # "account:<blind index>" or "ip:<blind index>"
    _ts("failed_at", nullable=False),
    Index(None, "key", "failed_at"),
)

# The second factor (issue 14 §1, ``domain.totp``): one TOTP factor per user (pending
# until confirmed), its secret encrypted under the user's scope; recovery codes and the
# login challenges between password and code only as keyed hashes.
mfa_factors = Table(
    "mfa_factors", metadata,
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("secret", LargeBinary, nullable=False),
    _ts("created_at", nullable=False),
    _ts("confirmed_at"),
    Column("last_used_step", BigInteger),  # a code of this step or before is refused
)

mfa_recovery_codes = Table(
    "mfa_recovery_codes", metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("code_hash", LargeBinary, nullable=False, unique=True),
    _ts("used_at"),
)

mfa_challenges = Table(
    "mfa_challenges", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("challenge_hash", LargeBinary, nullable=False, unique=True),
    _ts("expires_at", nullable=False),
)

terms_versions = Table(
    "terms_versions", metadata,
    Column("version", String(40), primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    _ts("published_at", nullable=False),
)

terms_acceptances = Table(
    "terms_acceptances", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("version", String(40), ForeignKey("terms_versions.version"), nullable=False),
    _ts("accepted_at", nullable=False),
    Column("ip", LargeBinary),  # NULL once the user is erased
    UniqueConstraint("user_id", "version"),
)

payments = Table(
    "payments", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("network_id", Uuid),
    Column("order_type", String(40), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("description", String(200), nullable=False),
    Column("provider_ref", String(100)),
    Column("redirect_url", Text),
    Column("provider_outcome", String(20)),
    _ts("created_at", nullable=False),
    _ts("validated_at"),
    Column("validated_by", Uuid),
    _ts("failed_at"),
    _ts("cancelled_at"),
    Column("refund_status", String(20)),
    Column("refund_amount_cents", Integer),
    _ts("refund_due_at"),
    _ts("refunded_at"),
    Column("refund_reference", String(100)),  # the transfer's or cheque's reference
    Column("refunded_by", Uuid),
    CheckConstraint("status IN ('pending', 'validated', 'failed', 'cancelled')", name="status"),
    CheckConstraint("method IN ('card', 'transfer', 'cheque')", name="method"),
    CheckConstraint("amount_cents > 0", name="amount"),
    Index("uq_payments_open_order", "order_type", "order_id", unique=True,
          postgresql_where=text("status IN ('pending', 'validated')")),
    Index(None, "user_id", "created_at"),
    Index(None, "status", "created_at", "id"),
)

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("network_id", Uuid, nullable=False),
    Column("period", String(20), nullable=False),
    # the office kinds it covers (issue 13 §1): distribution, construction or both
    Column("kind", String(20), nullable=False, server_default="construction"),
    Column("status", String(20), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("payment_id", Uuid, ForeignKey("payments.id"), nullable=False),
    Column("starts_on", Date),
    Column("ends_on", Date),
    _ts("created_at", nullable=False),
    _ts("activated_at"),
    _ts("ended_at"),
    Column("end_reason", String(20)),
    _ts("reminded_at"),  # subscription_ending_soon emitted (once per subscription)
    CheckConstraint("status IN ('pending_payment', 'active', 'expired', 'withdrawn', "
                    "'cancelled', 'ended')", name="status"),
    CheckConstraint("kind IN ('distribution', 'construction', 'both')", name="kind"),
    Index("uq_subscriptions_one_pending", "user_id", unique=True,
          postgresql_where=text("status = 'pending_payment'")),
    Index(None, "status", "ends_on"),
)

#: A rectification made for a data-subject request, field by field: the previous value
#: (encrypted like the user's own columns), for the person's access and the audit of
#: what changed. Deleted with the user's erasure.
user_rectifications = Table(
    "user_rectifications", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("request_id", String(64), nullable=False),
    Column("field", String(20), nullable=False),
    Column("previous", LargeBinary),
    _ts("rectified_at", nullable=False),
)

#: Data-subject requests seen by accounts: who the person is (user ids, resolved once, so
#: every service asking later gets the same answer, even after an erasure or a change of
#: email), and accounts' own task once done (never done twice). Ids and counts only.
subject_requests = Table(
    "subject_requests", metadata,
    Column("request_id", String(64), primary_key=True),
    Column("user_ids", JSONB, nullable=False),
    Column("ambiguous", Boolean, nullable=False, server_default=text("false")),
    _ts("resolved_at", nullable=False),
    Column("kind", String(20)),
    _ts("done_at"),
    Column("found", Boolean),
    Column("records_affected", Integer),
)

#: The current opening of a member's office by an admin: looks within
#: ``OFFICE_OPENING_WINDOW_MINUTES`` of ``opened_at`` are the same opening (one
#: ``member_office_opened`` event); the audit trail itself is compliance's.
office_openings = Table(
    "office_openings", metadata,
    Column("admin_id", Uuid, primary_key=True),
    Column("member_id", Uuid, primary_key=True),
    Column("network_id", Uuid, nullable=False),
    _ts("opened_at", nullable=False),
    Index(None, "member_id"),
)


#: Admin tool 5: the network's page templates of its members' public sites, one per office
#: kind (``distribution``: the product site, ``construction``: the brochure site). ``blocks``
#: is the ordered list ``domain.sites.clean_page`` checked (rich text already sanitised).
site_pages = Table(
    "site_pages", metadata,
    Column("id", Uuid, primary_key=True),
    Column("network_id", Uuid, ForeignKey("networks.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("title", String(200), nullable=False),
    Column("blocks", JSONB, nullable=False),
    Column("created_by", Uuid, nullable=False),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    UniqueConstraint("network_id", "kind"),
    CheckConstraint("kind IN ('distribution', 'construction')", name="kind"),
)

#: A member's own version of a block the admin left open (terms art. 11: who edited it and
#: when, since responsibility for that part moves to the member). The admin's reset
#: deletes the row.
site_overrides = Table(
    "site_overrides", metadata,
    Column("page_id", Uuid, ForeignKey("site_pages.id", ondelete="CASCADE"), primary_key=True),
    Column("block_id", String(40), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("content", JSONB, nullable=False),
    Column("edited_by", Uuid, nullable=False),
    _ts("edited_at", nullable=False),
    Index(None, "user_id"),
)

#: Which of a member's coordinates their sites show, and their photo (resized, re-encoded).
site_profiles = Table(
    "site_profiles", metadata,
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("show_name", Boolean, nullable=False, server_default=text("true")),
    Column("show_phone", Boolean, nullable=False, server_default=text("true")),
    Column("show_email", Boolean, nullable=False, server_default=text("true")),
    Column("show_photo", Boolean, nullable=False, server_default=text("true")),
    Column("photo_image_id", Uuid, ForeignKey("site_images.id", ondelete="SET NULL")),
    _ts("updated_at", nullable=False),
)

#: Images of the sites: an admin's for the pages, a member's photo. Checked by their bytes,
#: resized and re-encoded by Pillow (no metadata survives), served publicly by id.
site_images = Table(
    "site_images", metadata,
    Column("id", Uuid, primary_key=True),
    Column("network_id", Uuid, ForeignKey("networks.id"), nullable=False),
    Column("content_type", String(20), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_by", Uuid, nullable=False),
    _ts("created_at", nullable=False),
    Index(None, "network_id"),
)

#: Admin tool 6: the network's boutique, a shop window published per member at
#: ``/b/{slug}/``: its title, introduction (sanitised rich text) and the information notice
#: of its order form. Ordering is a request: it files a lead, the platform takes no payment.
boutiques = Table(
    "boutiques", metadata,
    Column("network_id", Uuid, ForeignKey("networks.id"), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("intro", Text, nullable=False),
    Column("notice", Text, nullable=False),
    Column("notice_version", String(40), nullable=False),
    _ts("updated_at", nullable=False),
)

#: The boutique's catalogue: name, description, the price shown (cents, euros), images
#: (``site_images``) and the note shown with the product (delivery, conditions).
boutique_products = Table(
    "boutique_products", metadata,
    Column("id", Uuid, primary_key=True),
    Column("network_id", Uuid, ForeignKey("networks.id"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("description", Text, nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("image_ids", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("order_note", String(500), nullable=False, server_default=text("''")),
    Column("position", Integer, nullable=False, server_default=text("0")),
    Column("created_by", Uuid, nullable=False),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    CheckConstraint("price_cents >= 0", name="price"),
    Index(None, "network_id", "position", "id"),
)
