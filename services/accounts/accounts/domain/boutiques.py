"""Boutiques (issue 13 §3, admin tool 6): a network's shop window, published per member at
``/b/{slug}/`` with the member's coordinates.

The boutique has a title, an introduction (rich text, sanitised as the sites' is) and the
information notice of its order form (annex IV.7: recorded with each order request, with
its version). A product has a name, a description (plain text), the price shown (in euro
cents: the platform shows it and takes no payment; the distributor's company sells),
up to ``MAX_IMAGES`` images uploaded with the sites' images, and a note shown with it
(delivery, conditions). Ordering is a *request*: a distribution lead in the member's
office, with the products and quantities in a note.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.domain.sites import HTML_MAX, NOTICE_MAX, _text, sanitise
from suivi_common.errors import Invalid

NAME_MAX = 120
DESCRIPTION_MAX = 4000
NOTE_MAX = 500
MAX_IMAGES = 4
MAX_PRICE_CENTS = 100_000_000
MAX_QUANTITY = 99


@dataclass(frozen=True)
class Boutique:
    title: str
    intro: str
    notice: str
    notice_version: str


@dataclass(frozen=True)
class Product:
    name: str
    description: str
    price_cents: int
    image_ids: list[str]
    order_note: str
    position: int


def _body(body: object) -> dict[str, Any]:
    return body if isinstance(body, dict) else {}


def clean_boutique(body: object) -> Boutique:
    data, fields = _body(body), {}
    title = _text(data.get("title"), 200)
    intro = data.get("intro", "")
    notice = _text(data.get("notice"), NOTICE_MAX, multiline=True)
    version = _text(data.get("notice_version"), 40)
    if title is None:
        fields["title"] = "1 to 200 characters on one line."
    if not isinstance(intro, str) or len(intro) > HTML_MAX:
        fields["intro"] = f"Rich text of at most {HTML_MAX} characters."
    if notice is None:
        fields["notice"] = ("The information notice shown above the order button "
                            f"(annex IV.7), 1 to {NOTICE_MAX} characters.")
    if version is None:
        fields["notice_version"] = "The notice's version, 1 to 40 characters."
    if fields:
        raise Invalid("The boutique is not valid", fields=fields)
    assert title and notice and version and isinstance(intro, str)
    return Boutique(title, sanitise(intro) if intro.strip() else "", notice, version)


def clean_product(body: object) -> Product:
    data, fields = _body(body), {}
    name = _text(data.get("name"), NAME_MAX)
    description = _text(data.get("description", ""), DESCRIPTION_MAX, multiline=True,
                        required=False)
    note = _text(data.get("order_note", ""), NOTE_MAX, multiline=True, required=False)
    price, position = data.get("price_cents"), data.get("position", 0)
    images = data.get("image_ids", [])
    if name is None:
        fields["name"] = f"1 to {NAME_MAX} characters on one line."
    if description is None:
        fields["description"] = f"At most {DESCRIPTION_MAX} characters."
    if note is None:
        fields["order_note"] = f"At most {NOTE_MAX} characters."
    if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price <= MAX_PRICE_CENTS:
        fields["price_cents"] = "The price shown, in euro cents (a whole number, 0 or more)."
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000:
        fields["position"] = "A whole number from 0 to 10000 (the catalogue's order)."
    if (not isinstance(images, list) or len(images) > MAX_IMAGES
            or not all(isinstance(i, str) and 32 <= len(i) <= 36 for i in images)):
        fields["image_ids"] = f"At most {MAX_IMAGES} uploaded images' ids."
    if fields:
        raise Invalid("The product is not valid", fields=fields)
    assert name is not None and description is not None and note is not None
    assert isinstance(price, int) and isinstance(position, int) and isinstance(images, list)
    return Product(name, description, price, [i.lower() for i in images], note, position)


def price_label(cents: int) -> str:
    """``12,50 €`` (French format, a narrow no-break space before the sign)."""
    euros, rest = divmod(int(cents), 100)
    return f"{euros:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€"

