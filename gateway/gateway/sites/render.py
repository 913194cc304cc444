"""Server-side rendering of the users' sites: one Jinja2 environment of the gateway's own,
autoescaped, templates in ``templates/``.

Nothing on a page runs or loads from elsewhere: no script, no font, no embed, no frame;
images come from the platform (``/s/_img/{id}``), a video is a link. The one stylesheet is
inline and allowed by its hash in the ``Content-Security-Policy`` (``CSP``), which forbids
everything else, including being framed (``frame-ancestors 'none'``) and posting a form
anywhere but here.

Placeholders ``{name}``, ``{phone}``, ``{email}`` are filled in last: in a heading (plain
text, escaped by the template) and in rich text (sanitised HTML by accounts, the values
escaped here before they go in), so a member's name can never become markup.
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).parent / "templates"
ENV = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                  autoescape=select_autoescape(default=True, default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)

STYLE = (TEMPLATES / "style.css").read_text(encoding="utf-8")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP = ("default-src 'none'; img-src 'self'; style-src 'sha256-" + _STYLE_HASH + "'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
           "X-Robots-Tag": "noarchive"}

KIND_LABELS = {"distribution": "Nos produits", "construction": "Opportunité"}


def _values(coordinates: dict[str, Any]) -> dict[str, str]:
    return {k: str(coordinates.get(k) or "") for k in ("name", "phone", "email")}


def fill_text(text: str, coordinates: dict[str, Any]) -> str:
    for key, value in _values(coordinates).items():
        text = text.replace("{" + key + "}", value)
    return text


def fill_html(html: str, coordinates: dict[str, Any]) -> Markup:
    """Sanitised HTML (accounts ran nh3 on it) with the escaped values put in."""
    for key, value in _values(coordinates).items():
        html = html.replace("{" + key + "}", str(escape(value)))
    return Markup(html)  # noqa: S704  (sanitised on save; the values escaped above)


def filled_blocks(blocks: list[dict[str, Any]], coordinates: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    """The blocks as visitors see them: placeholders filled in, rich text as markup (the
    public page, and its preview in the web office)."""
    out = []
    for block in blocks:
        b = dict(block)
        if b["type"] == "heading":
            b["text"] = fill_text(b["text"], coordinates)
        elif b["type"] == "text":
            b["html"] = fill_html(b["html"], coordinates)
        out.append(b)
    return out


def page(site: dict[str, Any], form: dict[str, Any] | None, *,
         errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
         message: str | None = None) -> str:
    coordinates = site.get("coordinates") or {}
    blocks = filled_blocks(site["page"]["blocks"], coordinates)
    return ENV.get_template("page.html").render(
        style=Markup(STYLE), title=fill_text(site["page"]["title"], coordinates),  # noqa: S704
        coordinates=coordinates, blocks=blocks, form=form, errors=errors or {},
        values=values or {}, message=message, kind_label=KIND_LABELS.get(site["kind"], ""))


def simple(title: str, paragraphs: list[str], *, link: tuple[str, str] | None = None) -> str:
    """A neutral page: the thank-you page, "site inactive", not found, refusals."""
    return ENV.get_template("simple.html").render(style=Markup(STYLE), title=title,  # noqa: S704
                                                  paragraphs=paragraphs, link=link)


def boutique(site: dict[str, Any], form: dict[str, Any], *, errors: dict[str, str] | None = None,
             values: dict[str, str] | None = None, quantities: dict[str, int] | None = None,
             message: str | None = None) -> str:
    """A member's boutique (issue 13 §3): the catalogue and its order-request form."""
    coordinates = site.get("coordinates") or {}
    shop = site["boutique"]
    return ENV.get_template("boutique.html").render(
        style=Markup(STYLE), title=fill_text(shop["title"], coordinates),  # noqa: S704
        intro=fill_html(shop["intro"], coordinates) if shop["intro"] else "",
        notice=shop["notice"], notice_version=shop["notice_version"],
        coordinates=coordinates, products=site["products"], form=form, errors=errors or {},
        values=values or {}, quantities=quantities or {}, message=message)
