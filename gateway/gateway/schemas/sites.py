"""Schemas of the users' websites (admin tool 5): page templates, overrides, settings.

A block's fields depend on its type, so blocks are read as objects and checked by accounts
(``accounts.domain.sites``), which names the bad field (``blocks.2.html``) in its 400.
"""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import Text

KINDS = ("distribution", "construction")


class SitePageIn(Schema):
    kind = Text(required=True, validate=validate.OneOf(KINDS))
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    blocks = fields.List(fields.Dict(keys=Text()), required=True,
                         validate=validate.Length(max=50))


class SiteOverrideOut(Schema):
    page_id = Text()
    block_id = Text()
    user_id = Text()
    content = fields.Dict()
    edited_by = Text()  # who took responsibility for this part (terms art. 11)
    edited_at = Text()


class SitePageOut(Schema):
    id = Text()
    kind = Text()
    title = Text()
    blocks = fields.List(fields.Dict())
    created_by = Text()
    created_at = Text()
    updated_at = Text()
    overrides = fields.List(fields.Nested(SiteOverrideOut))


class SiteOverrideIn(Schema):
    """The block's content fields (heading: text; text: html; image: image_id, alt;
    video: url, title)."""
    content = fields.Dict(keys=Text(), required=True)


class SiteResetOut(Schema):
    page_id = Text()
    user_id = Text()
    block_id = Text()
    deleted = fields.Bool()


class SiteImageOut(Schema):
    id = Text()
    content_type = Text()
    width = fields.Int()
    height = fields.Int()
    size_bytes = fields.Int()
    created_at = Text()


class SiteSettingsIn(Schema):
    show_name = fields.Bool()
    show_phone = fields.Bool()
    show_email = fields.Bool()
    show_photo = fields.Bool()


class SiteSettingsOut(SiteSettingsIn):
    has_photo = fields.Bool()


class MySitePageOut(Schema):
    id = Text()
    kind = Text()
    title = Text()
    path = Text(allow_none=True)
    blocks = fields.List(fields.Dict())
    updated_at = Text()


class MySiteOut(Schema):
    slug = Text(allow_none=True)
    settings = fields.Nested(SiteSettingsOut)
    pages = fields.List(fields.Nested(MySitePageOut))


class BoutiqueIn(Schema):
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    intro = Text(multiline=True, load_default="", validate=validate.Length(max=20_000))
    notice = Text(multiline=True, required=True, validate=validate.Length(min=1, max=4000))
    notice_version = Text(required=True, validate=validate.Length(min=1, max=40))


class BoutiqueOut(Schema):
    title = Text()
    intro = Text()
    notice = Text()
    notice_version = Text()
    updated_at = Text()


class ProductIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=120))
    description = Text(multiline=True, load_default="", validate=validate.Length(max=4000))
    price_cents = fields.Int(required=True, strict=True,
                             validate=validate.Range(min=0, max=100_000_000))
    image_ids = fields.List(Text(validate=validate.Length(max=36)), load_default=list,
                            validate=validate.Length(max=4))
    order_note = Text(multiline=True, load_default="", validate=validate.Length(max=500))
    position = fields.Int(load_default=0, strict=True, validate=validate.Range(min=0, max=10_000))


class ProductOut(Schema):
    id = Text()
    name = Text()
    description = Text()
    price_cents = fields.Int()
    price = Text()  # as shown: "12,50 €"
    image_ids = fields.List(Text())
    order_note = Text()
    position = fields.Int()
    created_at = Text()
    updated_at = Text()


class BoutiqueAdminOut(Schema):
    boutique = fields.Nested(BoutiqueOut, allow_none=True)
    products = fields.List(fields.Nested(ProductOut))
