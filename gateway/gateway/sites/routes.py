"""The public routes of the users' sites (anonymous visitors).

* ``GET /s/{slug}/`` (product site, distribution) and ``GET /s/{slug}/opportunite``
  (brochure site, construction): the page; ``POST`` to the same URL: the capture form.
* ``GET .../merci``: the thank-you page an accepted form is redirected to (303, so a
  reload never posts again).
* ``GET /s/_img/{id}``: the sites' images (re-encoded by accounts).

A site whose owner's office is not open (the subscription was not renewed, the account
suspended) answers ``410`` with a neutral page that names nobody; it is live again as
soon as accounts sees a subscription covering today, at most ``SITE_CACHE_SECONDS`` (2 s)
later (``cache``).
An unknown slug, or a network without a page of that kind, is a ``404`` page.

A form goes through, in order: the honeypot and the signed token (``forms``: forged,
too fast, expired, another notice), refused here with a ``400`` page, stored nowhere and
counted nowhere; then leads (the rate per address, the office open, validation,
duplicates), which files the lead in the same transaction that answers, so the
thank-you page is shown only for a stored lead.
"""
from __future__ import annotations

import base64
import logging
from typing import Any

from werkzeug.wrappers import Response

from gateway.http import Req, api
from gateway.sites import cache, forms, render
from suivi_common import clock
from suivi_common.errors import Forbidden, Invalid, NotFound, RateLimited
from suivi_common.settings import setting

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
FORM_MAX_BODY = 16 * 1024
COUNTRY_LABELS = {"FR": "France", "BE": "Belgique", "CH": "Suisse", "LU": "Luxembourg",
                  "MC": "Monaco", "DE": "Allemagne", "ES": "Espagne", "IT": "Italie",
                  "PT": "Portugal", "NL": "Pays-Bas", "CA": "Canada", "GB": "Royaume-Uni"}
INACTIVE = ("Site inactif", ["Ce site n'est pas disponible pour le moment."])
NOT_FOUND = ("Page introuvable", ["Cette page n'existe pas."])


def html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=status, mimetype="text/html",
                    headers={**render.HEADERS, **(headers or {})})


def simple(title_paragraphs: tuple[str, list[str]], status: int,
           link: tuple[str, str] | None = None) -> Response:
    title, paragraphs = title_paragraphs
    return html(render.simple(title, paragraphs, link=link), status)


def site_path(slug: str, kind: str) -> str:
    return f"/s/{slug}/" if kind == "distribution" else f"/s/{slug}/opportunite"


def public_url(req: Req, path: str) -> str:
    base = str(setting("PUBLIC_URL", "") or "").rstrip("/") or req.http.host_url.rstrip("/")
    return base + path


def form_block(site: dict[str, Any]) -> dict[str, Any] | None:
    return next((b for b in site["page"]["blocks"] if b["type"] == "form"), None)


class SiteRoutes:
    accounts: Any
    leads: Any

    # --- reading ---------------------------------------------------------------------------

    def _site(self, slug: str, kind: str) -> dict[str, Any] | Response:
        """The site, or the page to answer instead (404, 410)."""
        try:
            site = cache.cached(("site", slug, kind),
                                lambda: self.accounts.as_service().public_site(slug, kind))
        except NotFound:
            return simple(NOT_FOUND, 404)
        if not site["active"]:
            return simple(INACTIVE, 410)
        return site

    def _form(self, site: dict[str, Any], kind: str) -> dict[str, Any] | None:
        block = form_block(site)
        if block is None:
            return None
        codes = site.get("countries") or ["FR"]
        return {"action": site_path(site["slug"], kind),
                "token": forms.issue(site["slug"], kind, site["page"]["id"], block["notice"],
                                     clock.now().timestamp()),
                "countries": [(c, COUNTRY_LABELS.get(c, c)) for c in codes]}

    def _show(self, slug: str, kind: str) -> Response:
        site = self._site(slug, kind)
        if isinstance(site, Response):
            return site
        return html(render.page(site, self._form(site, kind)))

    def _thanks(self, slug: str, kind: str) -> Response:
        site = self._site(slug, kind)
        if isinstance(site, Response):
            return site
        return html(render.simple("Merci !", [
            "Votre demande est bien enregistrée : vous serez recontacté(e) très bientôt."],
            link=(site_path(slug, kind), "Retour au site")))

    @api("GET", "/s/<slug>/", auth=None, tags=("public",), content_type="text/html",
         errors=(410,), summary="A member's product site (distribution office)")
    def site_product(self, req: Req, slug: str) -> Any:
        return self._show(slug, "distribution")

    @api("GET", "/s/<slug>/opportunite", auth=None, tags=("public",), content_type="text/html",
         errors=(410,), summary="A member's brochure site (construction office)")
    def site_brochure(self, req: Req, slug: str) -> Any:
        return self._show(slug, "construction")

    @api("GET", "/s/<slug>/merci", auth=None, tags=("public",), content_type="text/html",
         errors=(410,), summary="The product site's thank-you page")
    def site_product_thanks(self, req: Req, slug: str) -> Any:
        return self._thanks(slug, "distribution")

    @api("GET", "/s/<slug>/opportunite/merci", auth=None, tags=("public",),
         content_type="text/html", errors=(410,), summary="The brochure site's thank-you page")
    def site_brochure_thanks(self, req: Req, slug: str) -> Any:
        return self._thanks(slug, "construction")

    @api("GET", "/s/_img/<image_id>", auth=None, tags=("public",),
         summary="An image of the users' sites (re-encoded PNG or JPEG)")
    def site_image(self, req: Req, image_id: str) -> Any:
        image = self.accounts.as_service().public_site_image(image_id)
        return Response(base64.b64decode(image["content"]), status=200,
                        content_type=image["content_type"],
                        headers={"Content-Security-Policy": "default-src 'none'"})

    # --- the capture form ------------------------------------------------------------------

    @api("POST", "/s/<slug>/", auth=None, raw_body=True, max_body=FORM_MAX_BODY,
         content_type=FORM, tags=("public",), errors=(410, 429),
         summary="The product site's capture form (a personal lead in the member's office)")
    def site_product_form(self, req: Req, slug: str) -> Any:
        return self._submit(req, slug, "distribution")

    @api("POST", "/s/<slug>/opportunite", auth=None, raw_body=True, max_body=FORM_MAX_BODY,
         content_type=FORM, tags=("public",), errors=(410, 429),
         summary="The brochure site's capture form (a personal lead in the member's office)")
    def site_brochure_form(self, req: Req, slug: str) -> Any:
        return self._submit(req, slug, "construction")

    def _again(self, site: dict[str, Any], kind: str, status: int, message: str,
               values: dict[str, str], errors: dict[str, str] | None = None) -> Response:
        """The page again, with a fresh token, the visitor's values and what went wrong."""
        return html(render.page(site, self._form(site, kind), errors=errors, values=values,
                                message=message), status)

    def _submit(self, req: Req, slug: str, kind: str) -> Response:
        posted = forms.parse(req.body or b"")
        site = self._site(slug, kind)
        if isinstance(site, Response):
            return site
        block = form_block(site)
        if block is None:
            return simple(NOT_FOUND, 404)
        values = {k: posted.get(k, "")[:254] for k in (
            "first_name", "last_name", "email", "mobile", "postal_code", "city", "country")}
        if posted.get(forms.HONEYPOT):
            log.info("site form refused: honeypot filled (%s)", slug)
            return simple(("Envoi refusé", ["Votre demande n'a pas pu être enregistrée."]), 400)
        verdict = forms.check(posted.get(forms.TOKEN_FIELD, ""), site["slug"], kind,
                              site["page"]["id"], block["notice"], clock.now().timestamp())
        if not verdict.ok:
            log.info("site form refused: %s (%s)", verdict.reason, slug)
            if verdict.reason == "notice_changed":
                return self._again(site, kind, 409, "L'information ci-dessous a changé : "
                                   "merci de la relire avant d'envoyer à nouveau.", values)
            return self._again(site, kind, 400, "Merci de vérifier vos informations puis "
                               "d'envoyer à nouveau le formulaire.", values)
        path = site_path(site["slug"], kind)
        try:
            self.leads.as_service().site_capture(
                site["user_id"], site["network_id"], kind, site["page"]["id"],
                {k: v for k, v in values.items() if v}, block["notice"],
                block["notice_version"], public_url(req, path), req.ip)
        except Invalid as exc:
            errors = {k: str(v) for k, v in (exc.fields or {}).items()}
            return self._again(site, kind, 400, "Certaines informations sont à corriger.",
                               values, errors)
        except RateLimited as exc:
            page = render.simple("Trop de demandes", [
                "Trop de demandes ont été envoyées depuis votre connexion. Réessayez plus tard."])
            return html(page, 429, {"Retry-After": str(int(exc.retry_after or 60))})
        except Forbidden:
            return simple(INACTIVE, 410)  # the office closed between the two calls
        return Response(status=303, headers={**render.HEADERS,
                                             "Location": path.rstrip("/") + "/merci"})
