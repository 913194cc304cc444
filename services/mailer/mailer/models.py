"""The mailer database: the tables every service keeps, plus a ledger of sent emails.

The ledger stores nothing personal: no address, no name, no link or token. It says
which kind of email went out for which user, for which event (``message_id``, the
event's message id) and under which SMTP ``Message-ID`` header, so support can match
a mail in a user's inbox to the event that caused it, and a second send of the same
event is recognisable (same ``Message-ID``).

``state`` is ``sending`` from just before the email goes on the wire until the SMTP
server has taken it, then ``sent`` (see ``MailerService._mail``).
"""
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid, text

from suivi_common.tables import define_common_tables

metadata = MetaData()
common = define_common_tables(metadata)

sent_emails = Table(
    "sent_emails", metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("user_id", String(64), nullable=False, index=True),
    Column("message_id", String(100), nullable=False, unique=True),
    Column("smtp_message_id", String(300), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("state", String(8), nullable=False, server_default=text("'sent'")),
)
