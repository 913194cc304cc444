"""Schemas of the caller's password and sessions (``routes/account_security.py``)."""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import Email, Text, page_of


class PasswordChangeIn(Schema):
    current_password = Text(required=True, validate=validate.Length(min=1, max=256))
    new_password = Text(required=True, validate=validate.Length(min=1, max=256))


class PasswordChangeOut(Schema):
    revoked_sessions = fields.Int()


class SessionOut(Schema):
    id = Text()
    created_at = Text()
    last_used_at = Text()
    expires_at = Text()
    ip = Text(allow_none=True)
    user_agent = Text(allow_none=True)
    current = fields.Bool()


SessionPageOut = page_of(SessionOut)


class SessionsRevokedOut(Schema):
    revoked = fields.Int()


class EmailChangeIn(Schema):
    new_email = Email(required=True)
    current_password = Text(required=True, validate=validate.Length(min=1, max=256))


class EmailChangeOut(Schema):
    ok = fields.Bool()
    sent_to = Text()


class ConfirmEmailIn(Schema):
    token = Text(required=True, validate=validate.Length(min=10, max=200))


class ConfirmEmailOut(Schema):
    email = Text()
