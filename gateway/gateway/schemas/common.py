"""Shapes shared by every area: paging, ids."""
from marshmallow import Schema, fields, validate

MAX_PAGE = 500


class PageQuery(Schema):
    cursor = fields.Str(validate=validate.Length(max=200))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A ``{items, next_cursor}`` envelope around ``item_schema``."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "next_cursor": fields.Str(allow_none=True),
    }, name=f"{item_schema.__name__.removesuffix('Out')}Page")


class Ok(Schema):
    ok = fields.Bool()
