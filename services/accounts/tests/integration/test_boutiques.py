"""Boutiques in accounts (issue 13 §3): the admin's boutique and catalogue, other networks
not found, and what the gateway renders at ``/b/{slug}/`` (live with the office)."""
from __future__ import annotations

from typing import Any

import pytest

from suivi_common.errors import Forbidden, Invalid, NotFound

SHOP = {"title": "La boutique", "intro": "<p>Bienvenue<script>x</script></p>",
        "notice": "Vos données servent à traiter votre demande.", "notice_version": "b1"}


def test_the_admin_builds_a_catalogue_and_members_see_it_while_their_office_runs(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "bruno@soleil.test")
    admin = h.rpc(a["admin"])
    assert admin.get_boutique() == {"boutique": None, "products": []}
    assert admin.put_boutique(SHOP)["boutique"]["intro"] == "<p>Bienvenue</p>"
    soap = admin.create_boutique_product({"name": "Savon", "price_cents": 490, "position": 2})
    cream = admin.create_boutique_product({"name": "Crème", "price_cents": 1250, "position": 1,
                                           "order_note": "Sous 8 jours"})
    assert cream["price"] == "12,50\u00a0€"
    assert [p["id"] for p in admin.get_boutique()["products"]] == [cream["id"], soap["id"]]
    with pytest.raises(Invalid) as bad:
        admin.create_boutique_product({"name": "", "price_cents": -1, "image_ids": ["x"]})
    assert set(bad.value.fields or {}) == {"name", "price_cents", "image_ids"}
    with pytest.raises(Forbidden):
        h.rpc(member).put_boutique(SHOP)
    slug = h.rpc(member).my_site()["slug"]
    assert h.gateway.public_boutique(slug)["active"] is False
    h.subscribe_by_transfer(member)
    shop = h.gateway.public_boutique(slug)
    assert shop["boutique"]["notice_version"] == "b1"
    assert [p["name"] for p in shop["products"]] == ["Crème", "Savon"]
    admin.update_boutique_product(soap["id"], {"name": "Savon doux", "price_cents": 500})
    assert admin.delete_boutique_product(cream["id"]) == {"id": cream["id"], "deleted": True}
    assert [p["name"] for p in h.gateway.public_boutique(slug)["products"]] == ["Savon doux"]


def test_other_networks_see_no_product_and_a_network_without_boutique_has_none(h: Any) -> None:
    a = h.new_network()
    b = h.new_network("Réseau B", "admin@b.test")
    made = h.rpc(a["admin"]).create_boutique_product({"name": "Savon", "price_cents": 490})
    other = h.rpc(b["admin"])
    for call in (lambda: other.update_boutique_product(made["id"], {"name": "x", "price_cents": 1}),
                 lambda: other.delete_boutique_product(made["id"]),
                 lambda: other.delete_boutique_product("nope")):
        with pytest.raises(NotFound):
            call()
    assert other.get_boutique()["products"] == []
    outsider = h.new_member(b, "o@b.test")
    h.subscribe_by_transfer(outsider)
    with pytest.raises(NotFound):
        h.gateway.public_boutique(h.rpc(outsider).my_site()["slug"])
