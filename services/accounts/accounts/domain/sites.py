"""The users' websites (issue 13 §2, admin tool 5): what a page template may hold, what a
member may change of it, and the slug of a member's sites.

A page is an ordered list of blocks, each ``{id, type, overridable, ...}``:

* ``heading`` ``{text, level}`` (2 or 3: the page's title is the one ``h1``);
* ``text`` ``{html}``: rich text, sanitised here with nh3 (the Ammonia sanitiser) to a
  small list of tags without any attribute but a link's ``href``, so a template can hold no
  script, style, event handler or third-party resource whatever the admin pastes;
* ``image`` ``{image_id, alt}``: an image uploaded to accounts (``domain.site_images``);
* ``video`` ``{url, title}``: shown as a link, never embedded (an embed would load the
  host's scripts on the member's site);
* ``form`` ``{notice, notice_version, submit_label}``: the capture form and the exact
  information notice shown above its button (annex IV.7: what it said, in which version).

Placeholders ``{name}``, ``{phone}``, ``{email}`` in headings and rich text are the
member's coordinates, filled in when the page is rendered (empty when the member hides
one). The admin marks blocks ``overridable``; a member's override replaces the block's
content fields only (never its type, id or the form's notice: the notice is the
network's, as controller of what the form collects). The site's content is the admin's
(terms art. 11); a member who overrides a part takes on responsibility for it.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

import nh3

from suivi_common.errors import Invalid

KINDS = ("distribution", "construction")
BLOCK_TYPES = ("heading", "text", "image", "video", "form")
#: what a member's override may change, per block type (forms: nothing)
CONTENT_FIELDS: dict[str, tuple[str, ...]] = {
    "heading": ("text",), "text": ("html",), "image": ("image_id", "alt"),
    "video": ("url", "title"), "form": (),
}
PLACEHOLDERS = ("name", "phone", "email")
MAX_BLOCKS = 50
TITLE_MAX = 200
HEADING_MAX = 200
HTML_MAX = 20_000
NOTICE_MAX = 4000
SHORT_MAX = 200
URL_MAX = 2048
BLOCK_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "a",
                "blockquote", "h3", "h4"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sanitise(html: str) -> str:
    """Rich text as it may be published: the allowed tags only, links without scripts
    (``rel="noopener noreferrer nofollow"`` added), comments and everything else gone."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow",
                     strip_comments=True)


def _text(value: Any, limit: int, *, multiline: bool = False, required: bool = True) -> str | None:
    """A clean string, or None when it is not one (the caller names the field)."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        return None
    clean = value.strip() if multiline else " ".join(value.split())
    if (required and not clean) or len(clean) > limit:
        return None
    if CONTROL.search(clean.replace("\t", " ") if multiline else clean):
        return None
    return clean


def _https_url(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > URL_MAX or CONTROL.search(value):
        return None
    url = value.strip()
    if not re.fullmatch(r"https://[^\s/?#]+[^\s]*", url):
        return None
    return url


def _content(kind: str, raw: dict[str, Any], where: str, fields: dict[str, str]) -> dict[str, Any]:
    """The content fields of one block of type ``kind``, errors into ``fields``."""
    out: dict[str, Any] = {}
    if kind == "heading":
        text = _text(raw.get("text"), HEADING_MAX)
        level = raw.get("level", 2)
        if text is None:
            fields[f"{where}.text"] = f"1 to {HEADING_MAX} characters on one line."
        if level not in (2, 3) or isinstance(level, bool):
            fields[f"{where}.level"] = "2 or 3."
        out = {"text": text, "level": level}
    elif kind == "text":
        html = raw.get("html")
        if not isinstance(html, str) or not html.strip() or len(html) > HTML_MAX:
            fields[f"{where}.html"] = f"Rich text of 1 to {HTML_MAX} characters."
        else:
            out = {"html": sanitise(html)}
    elif kind == "image":
        image_id = raw.get("image_id")
        alt = _text(raw.get("alt", ""), SHORT_MAX, required=False)
        if not isinstance(image_id, str) or not re.fullmatch(r"[0-9a-fA-F-]{32,36}", image_id):
            fields[f"{where}.image_id"] = "An uploaded image's id."
        if alt is None:
            fields[f"{where}.alt"] = f"At most {SHORT_MAX} characters on one line."
        out = {"image_id": str(image_id).lower(), "alt": alt}
    elif kind == "video":
        url, title = _https_url(raw.get("url")), _text(raw.get("title", ""), SHORT_MAX,
                                                       required=False)
        if url is None:
            fields[f"{where}.url"] = "An https link to the video."
        if title is None:
            fields[f"{where}.title"] = f"At most {SHORT_MAX} characters on one line."
        out = {"url": url, "title": title}
    elif kind == "form":
        notice = _text(raw.get("notice"), NOTICE_MAX, multiline=True)
        version = _text(raw.get("notice_version"), 40)
        label = _text(raw.get("submit_label", "Envoyer"), 60)
        if notice is None:
            fields[f"{where}.notice"] = ("The information notice shown above the button "
                                         f"(annex IV.7), 1 to {NOTICE_MAX} characters.")
        if version is None:
            fields[f"{where}.notice_version"] = "The notice's version, 1 to 40 characters."
        if label is None:
            fields[f"{where}.submit_label"] = "1 to 60 characters."
        out = {"notice": notice, "notice_version": version, "submit_label": label}
    return out


@dataclass(frozen=True)
class Page:
    kind: str
    title: str
    blocks: list[dict[str, Any]]


def clean_page(body: object, *, kind_required: bool = True) -> Page:
    """The template an admin sent, or ``Invalid`` naming every bad field at once. Blocks
    without an id get one; ids must be unique in the page."""
    data: dict[str, Any] = body if isinstance(body, dict) else {}
    fields: dict[str, str] = {}
    kind = data.get("kind")
    if kind not in KINDS:
        fields["kind"] = "distribution (the product site) or construction (the brochure site)."
    title = _text(data.get("title"), TITLE_MAX)
    if title is None:
        fields["title"] = f"1 to {TITLE_MAX} characters on one line."
    raw_blocks = data.get("blocks")
    blocks: list[dict[str, Any]] = []
    if not isinstance(raw_blocks, list) or len(raw_blocks) > MAX_BLOCKS:
        fields["blocks"] = f"A list of at most {MAX_BLOCKS} blocks."
        raw_blocks = []
    seen: set[str] = set()
    forms = 0
    for i, raw in enumerate(raw_blocks):
        where = f"blocks.{i}"
        if not isinstance(raw, dict):
            fields[where] = "A block is an object."
            continue
        btype = raw.get("type")
        if btype not in BLOCK_TYPES:
            fields[f"{where}.type"] = f"One of {', '.join(BLOCK_TYPES)}."
            continue
        block_id = raw.get("id") or secrets.token_hex(6)
        if not isinstance(block_id, str) or not BLOCK_ID.fullmatch(block_id) or block_id in seen:
            fields[f"{where}.id"] = "A unique id of letters, digits, - and _."
            continue
        seen.add(block_id)
        overridable = raw.get("overridable", False)
        if not isinstance(overridable, bool):
            fields[f"{where}.overridable"] = "true or false."
        if btype == "form":
            forms += 1
            overridable = False  # the notice is the network's
        blocks.append({"id": block_id, "type": btype, "overridable": bool(overridable),
                       **_content(str(btype), raw, where, fields)})
    if forms > 1:
        fields["blocks"] = "At most one capture form per page."
    if fields:
        raise Invalid("The site page is not valid", fields=fields)
    assert isinstance(title, str)
    return Page(str(kind), title, blocks)


def clean_override(block: dict[str, Any], body: object) -> dict[str, Any]:
    """A member's content for one block the admin left open, checked as the admin's is."""
    if block["type"] == "form" or not block.get("overridable"):
        raise Invalid("This block cannot be changed", code="block_not_overridable",
                      fields={"block_id": "The admin did not open this block to changes."})
    raw = body if isinstance(body, dict) else {}
    allowed = CONTENT_FIELDS[block["type"]]
    unknown = sorted(k for k in raw if k not in allowed)
    fields: dict[str, str] = {k: "Not a field of this block." for k in unknown}
    merged = {**{k: block.get(k) for k in allowed}, **{k: raw[k] for k in allowed if k in raw}}
    if block["type"] == "heading":
        merged["level"] = block.get("level", 2)
    content = _content(block["type"], merged, "content", fields)
    if fields:
        raise Invalid("The block's content is not valid", fields=fields)
    return {k: content[k] for k in allowed}


def apply_overrides(blocks: list[dict[str, Any]],
                    overrides: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The page a member's visitors see: each open block with the member's content."""
    out = []
    for block in blocks:
        mine = overrides.get(block["id"]) if block.get("overridable") else None
        out.append({**block, **{k: v for k, v in (mine or {}).items()
                                if k in CONTENT_FIELDS[block["type"]]},
                    "overridden": mine is not None})
    return out


def slug_for(first_name: str | None, last_name: str | None) -> str:
    """``marie-dupont-3f9a1c``: readable, and the random tail keeps two namesakes apart and
    a slug from being guessed from a name alone."""
    words = " ".join(x for x in (first_name, last_name) if x)
    ascii_text = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:50].strip("-")
    return f"{base or 'site'}-{secrets.token_hex(3)}"


SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")


def valid_slug(value: object) -> bool:
    return isinstance(value, str) and SLUG.fullmatch(value) is not None
