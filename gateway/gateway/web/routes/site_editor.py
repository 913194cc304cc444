"""The users' websites and the boutique in the web office (issue 15; issue 13 §2, §3).

* **Admin** (``/web/admin/sites``, ``/web/admin/boutique``): the network's page templates,
  one per office kind, as ordered blocks (heading, rich text, image upload, video link,
  capture form) with which blocks members may override, the members' overrides and their
  reset; the boutique (title, introduction, order-form notice) and its catalogue
  (products with name, description, price shown, images, order note).
* **Member** (``/web/site``): which coordinates the sites show, the photo, the blocks the
  admin left open, a preview of each page as visitors see it, and the public links.

Every form is read through the JSON route's schema (``gateway.schemas.sites``) and calls
the same RPC as ``gateway.routes.sites``, which does every check (sanitising, block
rules, images by their bytes, ``edit_site``); a page edit is the template sent whole, as
``PUT /api/network/site-pages/{id}`` takes it. After a change the public pages' cache is
emptied, as the JSON routes do. An upload is a ``multipart/form-data`` field ``file``,
bounded as the API's body (5 MiB) and sent to accounts as the API sends it.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from gateway.http import ApiEndpoint
from gateway.routes.sites import IMAGE_MAX_BODY
from gateway.schemas.sites import KINDS, BoutiqueIn, ProductIn, SitePageIn, SiteSettingsIn
from gateway.sites import cache, render
from gateway.sites.routes import site_path
from gateway.web.http import ERROR_MESSAGES, FLASH, N_, Page, form_errors, page, validated
from gateway.web.routes.roles_common import attempt, checked
from suivi_common.errors import Invalid, NotFound

ADMIN = ("admin",)
MEMBER = ("user", "admin")
IMAGE_MAX_BYTES = 5 * 1024 * 1024
BLOCK_TYPES = ("heading", "text", "image", "video", "form")
#: a block's fields in the forms, per type (what ``accounts.domain.sites`` reads)
FIELDS: dict[str, tuple[str, ...]] = {
    "heading": ("text", "level"), "text": ("html",), "image": ("alt",),
    "video": ("url", "title"), "form": ("notice", "notice_version", "submit_label")}
#: what a member may give of an open block (the image stays the network's: only its text)
MEMBER_FIELDS: dict[str, tuple[str, ...]] = {
    "heading": ("text",), "text": ("html",), "image": ("alt",), "video": ("url", "title")}
PRICE = re.compile(r"^\s*(\d{1,7})(?:[.,](\d{1,2}))?\s*(?:€|EUR)?\s*$", re.IGNORECASE)

FLASH.update({
    "site_page_created": N_("Page created."),
    "site_page_saved": N_("Page saved."),
    "site_page_deleted": N_("Page deleted."),
    "site_block_added": N_("Block added."),
    "site_block_saved": N_("Block saved."),
    "site_block_deleted": N_("Block deleted."),
    "site_override_reset": N_("The member's version is removed; the template shows again."),
    "boutique_saved": N_("Boutique saved."),
    "product_saved": N_("Product saved."),
    "product_deleted": N_("Product deleted."),
    "my_site_saved": N_("Your site settings are saved."),
    "my_photo_saved": N_("Your photo is saved."),
    "my_block_saved": N_("Your version of the block is saved; you are responsible for it."),
})
ERROR_MESSAGES.update({
    "site_page_exists": N_("The network already has a page of this kind; change that one."),
    "block_not_overridable": N_("The administrator did not open this block to changes."),
    "permission_denied": N_("Your access level does not allow this."),
    "admin_access_refused": N_("This member has turned admin access off: their office is "
                               "not shown."),
})


def upload_page(method: str, path: str, **options: Any) -> Callable[..., Any]:
    """``page`` for a form with a file: the same wrapper, with the body bound of the API's
    image routes (``IMAGE_MAX_BODY``) instead of the default 1 MiB."""

    def decorate(fn: Callable[..., Any]) -> Any:
        route = page(method, path, **options)(fn)
        getattr(route, ENTRYPOINT_EXTENSIONS_ATTR).clear()  # page's own, default bound
        return ApiEndpoint.decorator(method, path, max_body=IMAGE_MAX_BODY)(route)

    return decorate


def uploaded(p: Page, name: str = "file", required: bool = True) -> str | None:
    """The uploaded file as accounts takes it (base64), like the API's body; its type is
    read from its bytes by accounts (a 415 otherwise). None when no file was chosen and
    none is required."""
    try:
        files = p.http.files
    except RequestEntityTooLarge:
        raise Invalid("Too large", fields={name: p.gettext(N_("An image is at most 5 MB."))}
                      ) from None
    except (HTTPException, ValueError):
        raise Invalid("The form could not be read", code="malformed_form",
                      fields={name: p.gettext(N_("The file could not be read."))}) from None
    upload = files.get(name)
    if upload is None or not upload.filename:
        if required:
            raise Invalid("No file", fields={name: p.gettext(N_("Choose an image file."))})
        return None
    data = upload.stream.read(IMAGE_MAX_BYTES + 1)
    if len(data) > IMAGE_MAX_BYTES:
        raise Invalid("Too large", fields={name: p.gettext(N_("An image is at most 5 MB."))})
    if not data:
        raise Invalid("Empty", code="image_empty",
                      fields={name: p.gettext(N_("The file is empty."))})
    return base64.b64encode(data).decode()


def price_cents(p: Page, raw: str) -> Any:
    """``12,50`` (euros, as typed) in cents; anything else is refused beside the field."""
    found = PRICE.match(raw or "")
    if not found:
        raise Invalid("Some fields are not valid",
                      fields={"price": p.gettext(N_("A price in euros, such as 12,50."))})
    return int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))


def euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def block_errors(exc: Invalid, index: int, prefix: str) -> dict[str, str]:
    """``blocks.3.html`` of the whole template's 400, as ``<prefix>.html`` of the block
    edited (the others were not changed)."""
    out: dict[str, str] = {}
    for name, message in form_errors(exc).items():
        head = f"blocks.{index}."
        out[f"{prefix}.{name[len(head):]}" if name.startswith(head) else name] = message
    return out


def scoped(errors: dict[str, str], prefix: str) -> dict[str, str]:
    """A refusal of one form among several of the page: its fields under ``prefix``, the
    whole message at the top."""
    return {"_top": errors.get("_", ""),
            **{f"{prefix}.{k}": v for k, v in errors.items() if k != "_"}}


class WebSiteEditorRoutes:
    accounts: Any

    # --- the admin's page templates --------------------------------------------------------

    @page("GET", "/web/admin/sites", roles=ADMIN)
    def web_admin_sites(self, p: Page) -> Response:
        return self._sit_list(p)

    def _sit_list(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None) -> Response:
        pages = self.accounts.list_site_pages()["items"]
        taken = {pg["kind"] for pg in pages}
        return p.render("admin/sites.html", status=status, pages=pages,
                        free_kinds=[k for k in KINDS if k not in taken], errors=errors or {},
                        values=values or {})

    @page("POST", "/web/admin/sites", roles=ADMIN)
    def web_admin_site_create(self, p: Page) -> Response:
        values = {"kind": p.form.get("kind", ""), "title": p.form.get("title", "").strip()}
        created: dict[str, Any] = {}

        def create() -> None:
            created.update(self.accounts.create_site_page(
                validated(SitePageIn, {**values, "blocks": []})))
            cache.clear()

        return attempt(p, create, lambda: p.redirect(f"/web/admin/sites/{created['id']}",
                                                     flash="site_page_created"),
                       lambda s, e: self._sit_list(p, s, e, values), form="new")

    @page("GET", "/web/admin/sites/<page_id>", roles=ADMIN)
    def web_admin_site(self, p: Page, page_id: str) -> Response:
        return self._sit_page(p, page_id)

    def _sit_page(self, p: Page, page_id: str, status: int = 200,
                  errors: dict[str, str] | None = None,
                  typed: dict[str, dict[str, Any]] | None = None) -> Response:
        site_page = self.accounts.get_site_page(page_id)  # another network's: the 404 page
        names = {m["id"]: " ".join(x for x in (m.get("first_name"), m.get("last_name")) if x)
                 or m.get("email", "") for m in self.accounts.list_members(None, 200)["items"]}
        blocks = {b["id"]: b for b in site_page["blocks"]}
        # a form whose fields carry their messages shows no second one above them
        field_keys = {k.split(".", 1)[0] for k in (errors or {}) if "." in k}
        return p.render("admin/site_page.html", status=status, sp=site_page, names=names,
                        blocks=blocks, block_types=BLOCK_TYPES, errors=errors or {},
                        typed=typed or {}, field_keys=field_keys)

    def _sit_save(self, site_page: dict[str, Any], blocks: list[dict[str, Any]],
                  title: str | None = None) -> None:
        body = validated(SitePageIn, {"kind": site_page["kind"],
                                      "title": site_page["title"] if title is None else title,
                                      "blocks": blocks})
        self.accounts.update_site_page(site_page["id"], body)
        cache.clear()

    def _sit_block_of(self, p: Page, btype: str, old: dict[str, Any] | None
                      ) -> dict[str, Any]:
        """A block as the form gives it: its content fields, whether members may change
        it, and for an image the uploaded file (or the image it had)."""
        block: dict[str, Any] = {"type": btype, "overridable": checked(p, "overridable")}
        if old is not None:
            block["id"] = old["id"]
        for name in FIELDS[btype]:
            block[name] = p.form.get(name, "")
        if btype == "heading":
            block["level"] = 3 if block["level"] == "3" else 2
        if btype == "image":
            image = uploaded(p, required=old is None)
            block["image_id"] = (self.accounts.upload_site_image(image)["id"] if image
                                 else (old or {}).get("image_id", ""))
        return block

    @page("POST", "/web/admin/sites/<page_id>", roles=ADMIN)
    def web_admin_site_title(self, p: Page, page_id: str) -> Response:
        site_page = self.accounts.get_site_page(page_id)
        title = p.form.get("title", "").strip()
        return attempt(p, lambda: self._sit_save(site_page, site_page["blocks"], title),
                       lambda: p.redirect(f"/web/admin/sites/{page_id}", flash="site_page_saved"),
                       lambda s, e: self._sit_page(p, page_id, s, e), form="title")

    @page("POST", "/web/admin/sites/<page_id>/delete", roles=ADMIN)
    def web_admin_site_delete(self, p: Page, page_id: str) -> Response:
        def delete() -> None:
            self.accounts.delete_site_page(page_id)
            cache.clear()

        return attempt(p, delete, lambda: p.redirect("/web/admin/sites",
                                                     flash="site_page_deleted"),
                       lambda s, e: self._sit_page(p, page_id, s, e))

    @upload_page("POST", "/web/admin/sites/<page_id>/blocks", roles=ADMIN)
    def web_admin_site_block_add(self, p: Page, page_id: str) -> Response:
        site_page = self.accounts.get_site_page(page_id)
        btype = p.form.get("type", "")
        if btype not in BLOCK_TYPES:
            return self._sit_page(p, page_id, 400, {"new": p.gettext(N_("Choose a block type."))})
        typed = {f"new-{btype}": dict(p.form)}

        def add() -> None:
            try:
                block = self._sit_block_of(p, btype, None)
                self._sit_save(site_page, [*site_page["blocks"], block])
            except Invalid as exc:
                raise Invalid(exc.message, code=exc.code, fields=block_errors(
                    exc, len(site_page["blocks"]), f"new-{btype}")) from None

        return attempt(p, add, lambda: p.redirect(f"/web/admin/sites/{page_id}",
                                                  flash="site_block_added"),
                       lambda s, e: self._sit_page(p, page_id, s, e, typed), form=f"new-{btype}")

    @upload_page("POST", "/web/admin/sites/<page_id>/blocks/<block_id>", roles=ADMIN)
    def web_admin_site_block(self, p: Page, page_id: str, block_id: str) -> Response:
        """One block: ``action`` save (its fields), up, down or delete; the template is
        sent whole, in its new order."""
        site_page = self.accounts.get_site_page(page_id)
        blocks = list(site_page["blocks"])
        index = next((i for i, b in enumerate(blocks) if b["id"] == block_id), None)
        if index is None:
            raise NotFound("No such block", code="not_found")
        action = p.form.get("action", "save")
        flash = "site_block_saved"
        if action == "delete":
            del blocks[index]
            flash = "site_block_deleted"
        elif action in ("up", "down"):
            to = index - 1 if action == "up" else index + 1
            if 0 <= to < len(blocks):
                blocks[index], blocks[to] = blocks[to], blocks[index]
        typed = {block_id: dict(p.form)} if action == "save" else {}

        def save() -> None:
            try:
                if action == "save":
                    blocks[index] = self._sit_block_of(p, blocks[index]["type"], blocks[index])
                self._sit_save(site_page, blocks)
            except Invalid as exc:
                raise Invalid(exc.message, code=exc.code,
                              fields=block_errors(exc, index, block_id)) from None

        return attempt(p, save, lambda: p.redirect(f"/web/admin/sites/{page_id}#block-{block_id}"
                                                   if action != "delete"
                                                   else f"/web/admin/sites/{page_id}", flash=flash),
                       lambda s, e: self._sit_page(p, page_id, s, e, typed), form=block_id)

    @page("POST", "/web/admin/sites/<page_id>/overrides/<member_id>/<block_id>/reset",
          roles=ADMIN)
    def web_admin_site_reset(self, p: Page, page_id: str, member_id: str,
                             block_id: str) -> Response:
        self.accounts.reset_site_override(page_id, member_id, block_id)  # not theirs: 404
        cache.clear()
        return p.redirect(f"/web/admin/sites/{page_id}#overrides", flash="site_override_reset")

    # --- the admin's boutique --------------------------------------------------------------

    @page("GET", "/web/admin/boutique", roles=ADMIN)
    def web_admin_boutique(self, p: Page) -> Response:
        return self._btq_page(p)

    def _btq_page(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                  typed: dict[str, dict[str, Any]] | None = None) -> Response:
        shop = self.accounts.get_boutique()
        return p.render("admin/boutique.html", status=status, shop=shop["boutique"],
                        products=shop["products"], euros=euros, errors=errors or {},
                        typed=typed or {})

    @page("POST", "/web/admin/boutique", roles=ADMIN)
    def web_admin_boutique_save(self, p: Page) -> Response:
        values = {k: p.form.get(k, "") for k in ("title", "intro", "notice", "notice_version")}

        def save() -> None:
            self.accounts.put_boutique(validated(BoutiqueIn, values))
            cache.clear()

        return attempt(p, save, lambda: p.redirect("/web/admin/boutique", flash="boutique_saved"),
                       lambda s, e: self._btq_page(p, s, e, {"boutique": values}),
                       form="boutique")

    def _btq_product_body(self, p: Page, old: dict[str, Any] | None) -> Any:
        keep = [i for i in (old or {}).get("image_ids", [])
                if i not in p.form.getlist("remove_image")]
        image = uploaded(p, required=False)
        if image:
            keep.append(self.accounts.upload_site_image(image)["id"])
        position = p.form.get("position", "").strip() or "0"
        return validated(ProductIn, {
            "name": p.form.get("name", ""), "description": p.form.get("description", ""),
            "price_cents": price_cents(p, p.form.get("price", "")),
            "order_note": p.form.get("order_note", ""), "image_ids": keep,
            "position": int(position) if position.isdigit() else position})

    @upload_page("POST", "/web/admin/boutique/products", roles=ADMIN)
    def web_admin_product_create(self, p: Page) -> Response:
        def create() -> None:
            self.accounts.create_boutique_product(self._btq_product_body(p, None))
            cache.clear()

        return attempt(p, create, lambda: p.redirect("/web/admin/boutique",
                                                     flash="product_saved"),
                       lambda s, e: self._btq_page(p, s, scoped(e, "new"), {"new": dict(p.form)}),
                       form="_")

    @upload_page("POST", "/web/admin/boutique/products/<product_id>", roles=ADMIN)
    def web_admin_product_update(self, p: Page, product_id: str) -> Response:
        products = {x["id"]: x for x in self.accounts.get_boutique()["products"]}
        if product_id not in products:
            raise NotFound("No such product", code="not_found")

        def update() -> None:
            self.accounts.update_boutique_product(
                product_id, self._btq_product_body(p, products[product_id]))
            cache.clear()

        return attempt(p, update, lambda: p.redirect(f"/web/admin/boutique#product-{product_id}",
                                                     flash="product_saved"),
                       lambda s, e: self._btq_page(p, s, scoped(e, product_id),
                                                   {product_id: dict(p.form)}), form="_")

    @page("POST", "/web/admin/boutique/products/<product_id>/delete", roles=ADMIN)
    def web_admin_product_delete(self, p: Page, product_id: str) -> Response:
        self.accounts.delete_boutique_product(product_id)  # another network's: 404
        cache.clear()
        return p.redirect("/web/admin/boutique", flash="product_deleted")

    # --- the member's sites ------------------------------------------------------------------

    @page("GET", "/web/site", roles=MEMBER)
    def web_my_site(self, p: Page) -> Response:
        return self._my_site(p)

    def _my_site(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                 typed: dict[str, dict[str, Any]] | None = None) -> Response:
        mine = self.accounts.my_site()
        previews = []
        for pg in mine["pages"]:
            # as the visitors' page shows it (accounts' own answer for the public page):
            # the member's coordinates as their settings allow, or the office closed
            public: dict[str, Any] = {}
            try:
                if mine["slug"]:
                    public = self.accounts.as_service().public_site(mine["slug"], pg["kind"])
            except NotFound:
                public = {}
            live = bool(public.get("active") and public.get("page"))
            shown = public["page"]["blocks"] if live else pg["blocks"]
            coordinates = public["coordinates"] if live else {}
            previews.append({"page": pg, "live": live, "coordinates": coordinates,
                             "blocks": render.filled_blocks(shown, coordinates),
                             "title": render.fill_text(pg["title"], coordinates),
                             "open": [b for b in pg["blocks"] if b["type"] in MEMBER_FIELDS
                                      and b.get("overridable")]})
        links = [(site_path(mine["slug"], k), k) for k in KINDS
                 if mine["slug"] and any(pg["kind"] == k for pg in mine["pages"])]
        return p.render("site/editor.html", status=status, mine=mine, previews=previews,
                        links=links, boutique=f"/b/{mine['slug']}/" if mine["slug"] else None,
                        member_fields=MEMBER_FIELDS, errors=errors or {}, typed=typed or {})

    @page("POST", "/web/site/settings", roles=MEMBER)
    def web_my_site_settings(self, p: Page) -> Response:
        def save() -> None:
            self.accounts.update_my_site(validated(SiteSettingsIn, {
                k: checked(p, k) for k in ("show_name", "show_phone", "show_email",
                                           "show_photo")}))
            cache.clear()

        return attempt(p, save, lambda: p.redirect("/web/site", flash="my_site_saved"),
                       lambda s, e: self._my_site(p, s, e), form="settings")

    @upload_page("POST", "/web/site/photo", roles=MEMBER)
    def web_my_site_photo(self, p: Page) -> Response:
        def save() -> None:
            image = uploaded(p)
            self.accounts.set_my_site_photo(image)
            cache.clear()

        return attempt(p, save, lambda: p.redirect("/web/site", flash="my_photo_saved"),
                       lambda s, e: self._my_site(p, s, {"photo": " ".join(e.values())}),
                       form="photo")

    @page("POST", "/web/site/pages/<page_id>/blocks/<block_id>", roles=MEMBER)
    def web_my_site_block(self, p: Page, page_id: str, block_id: str) -> Response:
        mine = self.accounts.my_site()
        block = next((b for pg in mine["pages"] if pg["id"] == page_id
                      for b in pg["blocks"] if b["id"] == block_id), None)
        if block is None or block["type"] not in MEMBER_FIELDS:
            raise NotFound("No such block", code="not_found")
        content = {k: p.form.get(k, "") for k in MEMBER_FIELDS[block["type"]]}
        key = f"{page_id}-{block_id}"

        def save() -> None:
            try:
                self.accounts.override_site_block(page_id, block_id, content)
            except Invalid as exc:
                raise Invalid(exc.message, code=exc.code, fields={
                    f"{key}.{name.removeprefix('content.')}": m
                    for name, m in form_errors(exc).items()}) from None
            cache.clear()

        return attempt(p, save, lambda: p.redirect(f"/web/site#block-{key}",
                                                   flash="my_block_saved"),
                       lambda s, e: self._my_site(p, s, e, {key: content}), form=key)

