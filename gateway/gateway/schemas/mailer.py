"""Schemas of the emails to leads: templates, automations, office sends and their history,
the automation switch, and the unsubscribe link's answer."""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import PageQuery, Text

SLUG = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="lower-case letters, digits and _")
ID = validate.Length(min=1, max=64)


class TemplateIn(Schema):
    """Placeholders: {{ lead.first_name }}, {{ lead.last_name }}, {{ lead.city }},
    {{ user.first_name }}, {{ user.last_name }}, {{ user.phone }}, {{ user.email }},
    {{ network.name }}, {{ unsubscribe_url }}; checked when saved (400 naming the line)."""

    name = Text(required=True, validate=validate.Length(min=1, max=200))
    subject = Text(required=True, validate=validate.Length(min=1, max=500))
    body_text = Text(required=True, multiline=True, validate=validate.Length(min=1, max=20_000))
    body_html = Text(multiline=True, allow_none=True, validate=validate.Length(max=100_000))
    locale = Text(load_default="fr", validate=validate.Regexp(r"^[a-z]{2}(-[A-Z]{2})?$"))


class TemplateOut(Schema):
    id = Text()
    name = Text()
    subject = Text()
    body_text = Text()
    body_html = Text(allow_none=True)
    locale = Text()
    default_for_status = Text(allow_none=True)
    created_at = Text()
    updated_at = Text()


class PreviewIn(Schema):
    lead_id = Text(allow_none=True, validate=ID)


class PreviewOut(Schema):
    subject = Text()
    body_text = Text()
    body_html = Text(allow_none=True)


class AutomationIn(Schema):
    status = Text(required=True, validate=SLUG)
    template_id = Text(required=True, validate=ID)
    delay_hours = fields.Int(load_default=0, validate=validate.Range(min=0, max=24 * 90))
    enabled = fields.Bool(load_default=True)


class AutomationOut(Schema):
    id = Text()
    status = Text()
    template_id = Text()
    delay_hours = fields.Int()
    enabled = fields.Bool()
    created_at = Text()
    updated_at = Text()


class PauseIn(Schema):
    paused = fields.Bool(required=True)


class PauseOut(Schema):
    paused = fields.Bool()
    paused_at = Text(allow_none=True)


class LeadEmailIn(Schema):
    """A template of my network, or a subject and a body (placeholders allowed in both)."""

    template_id = Text(validate=ID)
    subject = Text(validate=validate.Length(min=1, max=500))
    body = Text(multiline=True, validate=validate.Length(min=1, max=20_000))


class LeadEmailQueuedOut(Schema):
    id = Text()
    status = Text()


class LeadEmailOut(Schema):
    id = Text()
    status = Text(metadata={"enum": ["queued", "sent", "failed", "blocked_opposition"]})
    origin = Text(metadata={"enum": ["office", "automation"]})
    subject = Text(allow_none=True)
    body_text = Text(allow_none=True)
    channel = Text(allow_none=True)
    template_id = Text(allow_none=True)
    automation_id = Text(allow_none=True)
    created_at = Text()
    scheduled_for = Text(allow_none=True)
    sent_at = Text(allow_none=True)
    error = Text(allow_none=True)


class OppositionOut(Schema):
    opposed = fields.Bool()
    recorded_at = Text(allow_none=True)


class UnsubscribedOut(Schema):
    unsubscribed = fields.Bool()


class LeadEmailsQuery(PageQuery):
    pass
