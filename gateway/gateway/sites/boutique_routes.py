"""The public boutique of a member (issue 13 §3): ``GET /b/{slug}/`` shows the network's
catalogue with the member's coordinates, ``POST`` sends an order *request* (no payment:
the distributor's company sells), ``GET /b/{slug}/merci`` thanks.

The request goes through the same door as a site's capture form (``routes``: honeypot,
signed minimum fill time bound to the notice shown, then leads' rate per address,
duplicates and the office-open check): a distribution lead in the member's office, origin
``site``, with its consent and a note listing the products and quantities. An office not
renewed: 410, as for the sites.
"""
from __future__ import annotations

import logging
from typing import Any

from werkzeug.wrappers import Response

from gateway.http import Req, api
from gateway.sites import cache, forms, render
from gateway.sites.routes import (
    COUNTRY_LABELS,
    FORM,
    FORM_MAX_BODY,
    INACTIVE,
    NOT_FOUND,
    html,
    public_url,
    simple,
)
from suivi_common import clock
from suivi_common.errors import Forbidden, Invalid, NotFound, RateLimited

log = logging.getLogger(__name__)

PAGE_ID = "boutique"
KIND = "boutique"  # the token's own kind: a site's token never passes here
MAX_QUANTITY = 99
CONTACT = ("first_name", "last_name", "email", "mobile", "postal_code", "city", "country")


def boutique_path(slug: str) -> str:
    return f"/b/{slug}/"


def _price_label(cents: int) -> str:
    euros, rest = divmod(int(cents), 100)
    return f"{euros:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€"


def order_note(lines: list[tuple[str, int, int]]) -> str:
    """One line per product and quantity, the prices as shown, and the indicative total."""
    total = sum(q * c for _, q, c in lines)
    body = "\n".join(f"- {q} × {name} ({_price_label(c)})" for name, q, c in lines)
    return f"Demande de commande (boutique) :\n{body}\nTotal indicatif : {_price_label(total)}"


def quantities_of(posted: dict[str, str], products: list[dict[str, Any]]
                  ) -> tuple[dict[str, int], str | None]:
    """The quantity asked of each product (0 when absent), or what is wrong with them."""
    out: dict[str, int] = {}
    for p in products:
        raw = posted.get(f"qty-{p['id']}", "").strip() or "0"
        if not raw.isdigit() or int(raw) > MAX_QUANTITY:
            return out, f"Une quantité est un nombre entier de 0 à {MAX_QUANTITY}."
        out[p["id"]] = int(raw)
    if not any(out.values()):
        return out, "Choisissez au moins un produit."
    return out, None


class BoutiqueRoutes:
    accounts: Any
    leads: Any

    def _boutique(self, slug: str) -> dict[str, Any] | Response:
        try:
            shop = cache.cached(("boutique", slug),
                                lambda: self.accounts.as_service().public_boutique(slug))
        except NotFound:
            return simple(NOT_FOUND, 404)
        if not shop["active"]:
            return simple(INACTIVE, 410)
        return shop

    def _shop_form(self, shop: dict[str, Any]) -> dict[str, Any]:
        codes = shop.get("countries") or ["FR"]
        return {"action": boutique_path(shop["slug"]),
                "token": forms.issue(shop["slug"], KIND, PAGE_ID, shop["boutique"]["notice"],
                                     clock.now().timestamp()),
                "countries": [(c, COUNTRY_LABELS.get(c, c)) for c in codes]}

    def _shop_again(self, shop: dict[str, Any], status: int, message: str,
                    values: dict[str, str], quantities: dict[str, int],
                    errors: dict[str, str] | None = None) -> Response:
        return html(render.boutique(shop, self._shop_form(shop), errors=errors, values=values,
                                    quantities=quantities, message=message), status)

    @api("GET", "/b/<slug>/", auth=None, tags=("public",), content_type="text/html",
         errors=(410,), summary="A member's boutique: the network's catalogue")
    def boutique_page(self, req: Req, slug: str) -> Any:
        shop = self._boutique(slug)
        if isinstance(shop, Response):
            return shop
        return html(render.boutique(shop, self._shop_form(shop)))

    @api("GET", "/b/<slug>/merci", auth=None, tags=("public",), content_type="text/html",
         errors=(410,), summary="The boutique's thank-you page")
    def boutique_thanks(self, req: Req, slug: str) -> Any:
        shop = self._boutique(slug)
        if isinstance(shop, Response):
            return shop
        return html(render.simple("Merci !", [
            "Votre demande de commande est bien enregistrée : votre conseiller vous "
            "recontacte pour la confirmer."], link=(boutique_path(slug), "Retour à la boutique")))

    @api("POST", "/b/<slug>/", auth=None, raw_body=True, max_body=FORM_MAX_BODY,
         content_type=FORM, tags=("public",), errors=(410, 429),
         summary="An order request (a distribution lead in the member's office; no payment)")
    def boutique_order(self, req: Req, slug: str) -> Any:
        posted = forms.parse(req.body or b"")
        shop = self._boutique(slug)
        if isinstance(shop, Response):
            return shop
        values = {k: posted.get(k, "")[:254] for k in CONTACT}
        quantities, wrong = quantities_of(posted, shop["products"])
        if posted.get(forms.HONEYPOT):
            log.info("boutique order refused: honeypot filled (%s)", slug)
            return simple(("Envoi refusé", ["Votre demande n'a pas pu être enregistrée."]), 400)
        notice = shop["boutique"]["notice"]
        verdict = forms.check(posted.get(forms.TOKEN_FIELD, ""), shop["slug"], KIND, PAGE_ID,
                              notice, clock.now().timestamp())
        if not verdict.ok:
            log.info("boutique order refused: %s (%s)", verdict.reason, slug)
            if verdict.reason == "notice_changed":
                return self._shop_again(shop, 409, "L'information ci-dessous a changé : merci "
                                        "de la relire avant d'envoyer à nouveau.", values,
                                        quantities)
            return self._shop_again(shop, 400, "Merci de vérifier votre demande puis de "
                                    "l'envoyer à nouveau.", values, quantities)
        if wrong:
            return self._shop_again(shop, 400, wrong, values, quantities,
                                    {"quantities": wrong})
        lines = [(p["name"], quantities[p["id"]], p["price_cents"]) for p in shop["products"]
                 if quantities.get(p["id"])]
        path = boutique_path(shop["slug"])
        try:
            self.leads.as_service().site_capture(
                shop["user_id"], shop["network_id"], "distribution", PAGE_ID,
                {k: v for k, v in values.items() if v}, notice,
                shop["boutique"]["notice_version"], public_url(req, path), req.ip,
                order_note(lines))
        except Invalid as exc:
            errors = {k: str(v) for k, v in (exc.fields or {}).items()}
            return self._shop_again(shop, 400, "Certaines informations sont à corriger.",
                                    values, quantities, errors)
        except RateLimited as exc:
            page = render.simple("Trop de demandes", [
                "Trop de demandes ont été envoyées depuis votre connexion. Réessayez plus tard."])
            return html(page, 429, {"Retry-After": str(int(exc.retry_after or 60))})
        except Forbidden:
            return simple(INACTIVE, 410)
        return Response(status=303, headers={**render.HEADERS, "Location": path + "merci"})
