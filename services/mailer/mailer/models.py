"""The mailer database: the tables every service keeps, the system emails' ledger, and the
emails to leads (templates, automations, the lead's email history, oppositions).

``sent_emails`` (system emails) stores nothing personal: no address, no name, no link or
token. It says which kind of email went out for which user, for which event
(``message_id``, the event's message id, or for a compliance notice the notice's key,
``notice_recipients.id``) and under which SMTP ``Message-ID`` header, so
support can match a mail in a user's inbox to the event that caused it, and a second send
of the same event is recognisable (same ``Message-ID``). ``state`` is ``sending`` from just
before the email goes on the wire until the SMTP server has taken it, then ``sent``.

Emails to leads are the lead's personal data (processing annex): ``lead_emails`` keeps the
address, subject and bodies encrypted under the owner's controller key (``<network>/<owner>``,
wrapped by the network's; older rows under the network's own until re-keyed; AAD names
table, column and row), and its rows are deleted when the lead is erased. The opposition list
(``email_oppositions``) is a blind index of the address per owner only, so it survives the
erasure without keeping the address.

A data-subject request (compliance's ``dsr_task_requested``) finds the person's rows by
those same per-owner blind indexes; an erasure leaves a tombstone of a history row (its
ids, status and dates; ``erased_at`` set, address, index, subject and bodies gone), a
restriction marks it (``restricted_at``), and ``dsr_tasks`` remembers the requests done.

Compliance's notices to controllers (a breach, a sub-processor change) go through the
system-email ledger too, one row per recipient in ``notice_recipients``, keyed by what
makes the notice unique (``(breach_id, user_id, stage)``, ``(change_id, user_id)``).

Exactly once: an automation's email is one row per (status change, rule), enforced by
``uq_lead_emails_trigger``; a row is sent by whoever moves it from ``queued`` to ``sending``
(a conditional update), and ``lease_until`` (platform clock) tells a live sender from a dead one.
"""
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    text,
)

from suivi_common.end_of_contract import define_controller_shreds
from suivi_common.tables import define_common_tables

metadata = MetaData()
common = define_common_tables(metadata)

ID = String(64)

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

#: What the mailer knows of a network (from accounts' ``network_created``): its name for
#: the ``{{ network.name }}`` placeholder, and whether its default templates were seeded.
mail_networks = Table(
    "mail_networks", metadata,
    Column("network_id", ID, primary_key=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("defaults_seeded_at", DateTime(timezone=True)),
)

#: Admin tool 2. Not personal data: the network's own wording, with placeholders.
email_templates = Table(
    "email_templates", metadata,
    Column("id", Uuid, primary_key=True),
    Column("network_id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text),
    Column("locale", String(10), nullable=False),
    Column("default_for_status", String(40)),  # the default set's status, None otherwise
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_email_templates_network", "network_id", "created_at", "id"),
)

#: Admin tool 4: "when a lead enters ``status``, send ``template_id`` after ``delay_hours``".
automations = Table(
    "automations", metadata,
    Column("id", Uuid, primary_key=True),
    Column("network_id", ID, nullable=False),
    Column("status", String(40), nullable=False),
    Column("template_id", Uuid, ForeignKey("email_templates.id"), nullable=False),
    Column("delay_hours", Integer, nullable=False, server_default="0"),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_automations_trigger", "network_id", "status"),
)

#: A user's own switch: automations paused for their office.
automation_pauses = Table(
    "automation_pauses", metadata,
    Column("user_id", ID, primary_key=True),
    Column("paused_at", DateTime(timezone=True), nullable=False),
)

#: The lead's email history, and the send queue. ``status``: ``scheduled`` (waits for
#: ``due_at``: an automation's delay, or a retry's backoff), ``queued`` (a
#: ``lead_email_due`` event is on its way), ``sending``, ``sent``, ``failed``,
#: ``blocked_opposition``, ``cancelled`` (an automation whose conditions no longer hold;
#: ``cancel_reason`` says which). An automation's row is rendered when it is sent (the
#: template as it is then); an office send's row is rendered when it is queued.
lead_emails = Table(
    "lead_emails", metadata,
    Column("id", Uuid, primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("owner_id", ID, nullable=False),
    Column("network_id", ID, nullable=False),
    # the key scope of the sealed columns (address, subject, bodies): the owner's controller
    # key ``<network>/<owner>``; None: the network's, a row written before controller keys
    # (or rendered by the dispatcher at send time) and not re-keyed yet
    # (``usecases.controller_keys``). The opposition index stays under the network's key.
    Column("key_scope", String(140)),
    Column("origin", String(12), nullable=False),  # office | automation
    Column("template_id", Uuid),
    Column("automation_id", Uuid),
    Column("trigger_id", String(100)),  # the lead_status_changed message id
    Column("trigger_changed_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),
    Column("cancel_reason", String(40)),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_until", DateTime(timezone=True)),
    Column("error", String(200)),  # a failure's class and SMTP code, never the reply text
    Column("channel", String(10)),
    Column("to_address", LargeBinary),
    Column("to_bidx", LargeBinary),  # the opposition index of the address (owner's)
    Column("subject", LargeBinary),
    Column("body_text", LargeBinary),
    Column("body_html", LargeBinary),
    Column("locale", String(10)),
    Column("smtp_message_id", String(300)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("erased_at", DateTime(timezone=True)),  # a data-subject erasure left a tombstone
    Column("restricted_at", DateTime(timezone=True)),  # a data-subject restriction (art. 18)
    Index("ix_lead_emails_lead", "lead_id", "created_at", "id"),
    Index("ix_lead_emails_to_bidx", "to_bidx"),
    Index("ix_lead_emails_due", "due_at", postgresql_where=text("status = 'scheduled'")),
    #: the dispatcher's claim takes queued rows as well as due scheduled ones
    Index("ix_lead_emails_queued", "due_at", postgresql_where=text("status = 'queued'")),
    Index("ix_lead_emails_sending", "lease_until", postgresql_where=text("status = 'sending'")),
    Index("uq_lead_emails_trigger", "trigger_id", "automation_id", unique=True,
          postgresql_where=text("trigger_id IS NOT NULL")),
    #: what is left to move to the owners' keys
    Index("ix_lead_emails_legacy_key", "owner_id", "id",
          postgresql_where=text("key_scope IS NULL AND to_address IS NOT NULL")),
)

#: GDPR art. 21: this owner may not email this address again. A blind index only.
email_oppositions = Table(
    "email_oppositions", metadata,
    Column("owner_id", ID, nullable=False),
    Column("address_bidx", LargeBinary, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("owner_id", "address_bidx"),
)

#: The latest status change seen per lead, and its erasure: a delayed automation whose
#: lead moved since is cancelled, events handled out of order included, and nothing is
#: ever scheduled for an erased lead.
lead_status_seen = Table(
    "lead_status_seen", metadata,
    Column("lead_id", Uuid, primary_key=True),
    Column("changed_at", DateTime(timezone=True)),
    Column("erased_at", DateTime(timezone=True)),
)

#: A data-subject request's mailer task, once done (compliance's ``dsr_task_requested``):
#: a repeated task (a retry, a late duplicate) is answered with the same report, never
#: done twice. Counts only: nothing of the person.
#: A controller whose e-mail copies were destroyed at the end of their contract (annex
#: IV.12): recorded once, a repeated request reports the same counts and key ids.
controller_shreds = define_controller_shreds(metadata)

dsr_tasks = Table(
    "dsr_tasks", metadata,
    Column("request_id", ID, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("found", Boolean, nullable=False),
    Column("records_affected", Integer, nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=False),
)

#: One compliance notice to one controller. ``id`` is derived from what makes the notice
#: unique (``compliance_notices.recipient_key``) and is the system-email ledger's key
#: (``sent_emails.message_id``) of its email. ``status``: ``pending``, ``sent``,
#: ``failed`` (``reason``: ``no_user``, ``no_address``, ``send_failed``); ``attempts``
#: counts the failed sends.
notice_recipients = Table(
    "notice_recipients", metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(20), nullable=False),  # breach_notice | subprocessor_notice
    Column("ref_id", ID, nullable=False),  # the breach or the sub-processor change
    Column("stage", Integer, nullable=False, server_default="0"),
    Column("user_id", ID, nullable=False),
    Column("status", String(10), nullable=False),
    Column("reason", String(20)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_notice_recipients_ref", "kind", "ref_id"),
)

#: A sub-processor change's notice (compliance's wording, the same for every controller;
#: nothing personal), kept while its emails go out one per controller.
subprocessor_notices = Table(
    "subprocessor_notices", metadata,
    Column("change_id", ID, primary_key=True),
    Column("subject", String(500), nullable=False),
    Column("text", Text, nullable=False),
    Column("announced_at", DateTime(timezone=True), nullable=False),
)
