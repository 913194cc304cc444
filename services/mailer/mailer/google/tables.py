"""The mailer's Google tables, on the mailer's own metadata (so its migrations and
``truncate_all`` see them).

* ``google_links``: one row per linked user: the Google address (encrypted, platform
  scope) and when it was linked. This is all that persists of a link: access and refresh
  tokens live only in the memory of the mailer process that obtained them (``tokens``).
* ``google_authorizations``: an authorization in progress, between ``authorize`` and the
  callback, for at most ``oauth.STATE_TTL``. It keeps hashes only: of the ``state``
  (single use: the callback deletes the row it consumes) and of the browser binding (the
  cookie the gateway set on the user's session). The PKCE verifier is not stored: it is
  derived from the state with a key of the mailer's own (``oauth.code_verifier``), so any
  mailer instance can complete the flow.
"""
from sqlalchemy import Column, DateTime, LargeBinary, String, Table

from mailer.models import metadata

google_links = Table(
    "google_links", metadata,
    Column("user_id", String(64), primary_key=True),
    Column("address", LargeBinary, nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False),
)

google_authorizations = Table(
    "google_authorizations", metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("binding_hash", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)
