"""Shapes of the Gmail link routes."""
from marshmallow import EXCLUDE, Schema, fields, validate

from gateway.schemas.common import Text


class GoogleAuthorizeOut(Schema):
    url = Text(required=True)


class GoogleStatusOut(Schema):
    linked = fields.Bool(required=True)
    address = Text(allow_none=True)
    linked_at = Text(allow_none=True, metadata={"description": "ISO 8601"})
    can_send = fields.Bool(required=True)
    reason = Text(metadata={"description": "`relink_gmail` when no live token: link again"})


class GoogleUnlinkOut(GoogleStatusOut):
    revoked = fields.Bool(metadata={"description": "Google confirmed the revocation"})


class GoogleCallbackQuery(Schema):
    """What Google appends to the redirect URI (``scope``, ``authuser``... are ignored)."""

    class Meta:
        unknown = EXCLUDE

    code = Text(validate=validate.Length(min=1, max=2048))
    state = Text(validate=validate.Length(min=1, max=256))
    error = Text(validate=validate.Length(max=200))
