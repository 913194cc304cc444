"""The users' websites (issue 13 §2, admin tool 5): the admin's page templates and images,
a member's settings, photo and overrides. The public pages are ``gateway.sites``; every
change here empties their short-lived cache (``gateway.sites.cache``), so it shows on the
next visit."""
from __future__ import annotations

import base64
from typing import Any

from gateway.http import Req, api
from gateway.schemas.common import DeletedOut, page_of
from gateway.schemas.sites import (
    BoutiqueAdminOut,
    BoutiqueIn,
    MySiteOut,
    ProductIn,
    ProductOut,
    SiteImageOut,
    SiteOverrideIn,
    SiteOverrideOut,
    SitePageIn,
    SitePageOut,
    SiteResetOut,
    SiteSettingsIn,
)
from gateway.sites import cache
from suivi_common.errors import Invalid

MEMBER = ("user", "admin")
IMAGE_MAX_BODY = 5 * 1024 * 1024 + 64 * 1024
IMAGE_BODY = {"required": True, "content": {
    "image/png": {"schema": {"type": "string", "format": "binary"}},
    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    "image/gif": {"schema": {"type": "string", "format": "binary"}},
    "image/webp": {"schema": {"type": "string", "format": "binary"}}}}


def _image_bytes(req: Req) -> str:
    """The request's body, the image itself (its type is read from its bytes by accounts)."""
    data = req.http.get_data(cache=True)
    if not data:
        raise Invalid("Send the image as the request body", code="image_empty",
                      fields={"file": "empty"})
    return base64.b64encode(data).decode()


def changed(result: Any) -> Any:
    """A change's answer, once the public pages' cache is emptied."""
    cache.clear()
    return result


class SiteAdminRoutes:
    accounts: Any

    @api("GET", "/api/network/site-pages", roles=("admin",), response=page_of(SitePageOut),
         tags=("sites",), summary="The network's site page templates (one per office kind)")
    def list_site_pages(self, req: Req) -> Any:
        return self.accounts.list_site_pages()

    @api("POST", "/api/network/site-pages", roles=("admin",), body=SitePageIn,
         response=SitePageOut, status=201, tags=("sites",),
         summary="Create the page template of an office kind: ordered blocks")
    def create_site_page(self, req: Req) -> Any:
        return changed(self.accounts.create_site_page(req.body))

    @api("GET", "/api/network/site-pages/<page_id>", roles=("admin",), response=SitePageOut,
         tags=("sites",), summary="A page template and the members' overrides of it")
    def get_site_page(self, req: Req, page_id: str) -> Any:
        return self.accounts.get_site_page(page_id)

    @api("PUT", "/api/network/site-pages/<page_id>", roles=("admin",), body=SitePageIn,
         response=SitePageOut, tags=("sites",), summary="Replace a page template")
    def update_site_page(self, req: Req, page_id: str) -> Any:
        return changed(self.accounts.update_site_page(page_id, req.body))

    @api("DELETE", "/api/network/site-pages/<page_id>", roles=("admin",), response=DeletedOut,
         tags=("sites",), summary="Delete a page template (the members' sites of that kind go)")
    def delete_site_page(self, req: Req, page_id: str) -> Any:
        return changed(self.accounts.delete_site_page(page_id))

    @api("DELETE", "/api/network/site-pages/<page_id>/overrides/<member_id>/<block_id>",
         roles=("admin",), response=SiteResetOut, tags=("sites",),
         summary="Reset a member's override of a block to the template")
    def reset_site_override(self, req: Req, page_id: str, member_id: str, block_id: str) -> Any:
        return changed(self.accounts.reset_site_override(page_id, member_id, block_id))

    @api("POST", "/api/network/site-images", roles=("admin",), raw_body=True,
         max_body=IMAGE_MAX_BODY, request_body=IMAGE_BODY, response=SiteImageOut, status=201,
         tags=("sites",), errors=(415,),
         summary="Upload an image for the pages (PNG, JPEG, GIF, WebP; resized, re-encoded)")
    def upload_site_image(self, req: Req) -> Any:
        return self.accounts.upload_site_image(_image_bytes(req))

    @api("GET", "/api/me/site", roles=MEMBER, response=MySiteOut, tags=("sites",),
         summary="My sites: slug, what they show of my coordinates, the pages as shown")
    def my_site(self, req: Req) -> Any:
        return self.accounts.my_site()

    @api("PUT", "/api/me/site", roles=MEMBER, body=SiteSettingsIn, response=MySiteOut,
         tags=("sites",), summary="Which of my coordinates my sites show")
    def update_my_site(self, req: Req) -> Any:
        return changed(self.accounts.update_my_site(req.body))

    @api("PUT", "/api/me/site/photo", roles=MEMBER, raw_body=True, max_body=IMAGE_MAX_BODY,
         request_body=IMAGE_BODY, response=MySiteOut, tags=("sites",), errors=(415,),
         summary="My photo on my sites (resized, re-encoded)")
    def set_my_site_photo(self, req: Req) -> Any:
        return changed(self.accounts.set_my_site_photo(_image_bytes(req)))

    @api("PUT", "/api/me/site/pages/<page_id>/blocks/<block_id>", roles=MEMBER,
         body=SiteOverrideIn, response=SiteOverrideOut, tags=("sites",),
         summary="My own content for a block the admin left open (needs edit_site)")
    def override_site_block(self, req: Req, page_id: str, block_id: str) -> Any:
        return changed(self.accounts.override_site_block(page_id, block_id, req.body["content"]))

    # --- boutiques (admin tool 6) ------------------------------------------------------------

    @api("GET", "/api/network/boutique", roles=("admin",), response=BoutiqueAdminOut,
         tags=("sites",), summary="The network's boutique and its catalogue")
    def get_boutique(self, req: Req) -> Any:
        return self.accounts.get_boutique()

    @api("PUT", "/api/network/boutique", roles=("admin",), body=BoutiqueIn,
         response=BoutiqueAdminOut, tags=("sites",),
         summary="The boutique's title, introduction and order form notice")
    def put_boutique(self, req: Req) -> Any:
        return changed(self.accounts.put_boutique(req.body))

    @api("POST", "/api/network/boutique/products", roles=("admin",), body=ProductIn,
         response=ProductOut, status=201, tags=("sites",),
         summary="Add a product: name, description, price shown, images, order note")
    def create_boutique_product(self, req: Req) -> Any:
        return changed(self.accounts.create_boutique_product(req.body))

    @api("PUT", "/api/network/boutique/products/<product_id>", roles=("admin",), body=ProductIn,
         response=ProductOut, tags=("sites",), summary="Replace a product")
    def update_boutique_product(self, req: Req, product_id: str) -> Any:
        return changed(self.accounts.update_boutique_product(product_id, req.body))

    @api("DELETE", "/api/network/boutique/products/<product_id>", roles=("admin",),
         response=DeletedOut, tags=("sites",), summary="Remove a product")
    def delete_boutique_product(self, req: Req, product_id: str) -> Any:
        return changed(self.accounts.delete_boutique_product(product_id))
