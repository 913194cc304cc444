"""Issue 13 §2, the users' websites, over HTTP on the whole platform.

Alice (a network's admin) builds the brochure page of her network: a heading with the
member's name, rich text (what she pastes is sanitised), an image she uploads (checked by
its bytes, re-encoded), a video link and a capture form with its information notice. Bruno,
a member with a monthly subscription, has his site at ``/s/{slug}/opportunite``; he
rewords the heading she left open (who and when are recorded) and she resets it. A visitor
fills in the form: too fast or with the honeypot filled, it is refused and nothing is
stored; taking their time, they see the thank-you page and the lead is in Bruno's office
at once, with the exact notice they read and its version. Every page parses as HTML5 with
no error, loads no script and carries a strict CSP. Bruno's subscription ends: his site
answers 410 with a neutral page; he renews, and it is back the same day.
"""
from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta
from typing import Any

import html5lib
import requests
from PIL import Image

from tests.e2e.scenario import step, wait_until
from tools.api_client import Api, subscribe_by_card

DAY = date(2027, 9, 6)  # a Monday, after the dates of the other flows (clocks move forward)
NOTICE = ("Vos données sont traitées par votre conseiller pour vous recontacter au sujet de "
          "l'opportunité. Vous pouvez exercer vos droits à tout moment.")
MEMBER_PASSWORD = "Distinct-Violet-Pass-77"


def valid_html(text: str) -> None:
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(text)
    assert parser.errors == [], parser.errors
    assert "<script" not in text.lower()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (3000, 1500), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def token_of(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def visitor_form(token: str, email: str, **extra: str) -> dict[str, str]:
    return {"form_token": token, "first_name": "Camille", "last_name": "Lefèvre",
            "email": email, "mobile": "", "postal_code": "75011", "city": "Paris",
            "country": "FR", "website": "", **extra}


def test_user_sites_over_http(base_url: str, moved_clock: Any, make_network: Any,
                              invite_member: Any) -> None:
    moved_clock(DAY)
    _, alice = make_network(countries=["FR"], admin_name=("Alice", "Martin"))
    bruno_member, bruno = invite_member(alice)
    subscribe_by_card(bruno, "monthly")
    visitor = requests.Session()
    visitor.trust_env = False

    with step("the admin uploads an image: checked by its bytes, resized, re-encoded"):
        up = alice.http.post(base_url + "/api/network/site-images", data=png_bytes(),
                             headers={"Authorization": f"Bearer {alice.token}",
                                      "Content-Type": "image/png"}, timeout=60)
        assert up.status_code == 201, up.text
        image = up.json()
        assert (image["width"], image["height"]) == (1600, 800)
        fake = alice.http.post(base_url + "/api/network/site-images", data=b"<svg onload=x>",
                               headers={"Authorization": f"Bearer {alice.token}",
                                        "Content-Type": "image/png"}, timeout=60)
        assert fake.status_code == 415

    with step("the admin builds the brochure page: ordered blocks, a capture form"):
        page = alice.post("/api/network/site-pages", {
            "kind": "construction", "title": "L'opportunité avec {name}", "blocks": [
                {"id": "intro", "type": "heading", "text": "Rejoignez {name}", "overridable": True},
                {"type": "text", "html": '<p onclick="x()">Appelez le <strong>{phone}</strong>'
                                         '<script>alert(1)</script></p>'},
                {"type": "image", "image_id": image["id"], "alt": "Notre équipe"},
                {"type": "video", "url": "https://video.example/presentation", "title": "Vidéo"},
                {"id": "contact", "type": "form", "notice": NOTICE, "notice_version": "v1",
                 "submit_label": "Être recontacté"}]}, expect=201)
        text_block = page["blocks"][1]
        assert "script" not in text_block["html"] and "onclick" not in text_block["html"]
        assert [b["type"] for b in page["blocks"]] == ["heading", "text", "image", "video", "form"]
        assert alice.get("/api/network/site-pages")["items"][0]["id"] == page["id"]
        assert bruno.call("GET", "/api/network/site-pages")[0] == 403  # admins only

    mine = bruno.get("/api/me/site")
    slug = mine["slug"]
    site_url = f"{base_url}/s/{slug}/opportunite"

    with step("the member rewords the open block: who and when recorded; the admin resets it"):
        changed = bruno.put(f"/api/me/site/pages/{page['id']}/blocks/intro",
                            {"content": {"text": "Construisons ensemble, {name}"}})
        assert changed["edited_by"] == bruno_member["id"] and changed["edited_at"]
        refused = bruno.call("PUT", f"/api/me/site/pages/{page['id']}/blocks/contact",
                             {"content": {"notice": "rien"}})
        assert refused[0] == 400  # the form is the network's
        assert "Construisons ensemble, Bruno Durand" in visitor.get(site_url, timeout=30).text
        seen = alice.get(f"/api/network/site-pages/{page['id']}")["overrides"]
        assert [(o["user_id"], o["block_id"]) for o in seen] == [(bruno_member["id"], "intro")]
        alice.call("DELETE", f"/api/network/site-pages/{page['id']}/overrides/"
                             f"{bruno_member['id']}/intro", expect=200)
        assert "Rejoignez Bruno Durand" in visitor.get(site_url, timeout=30).text

    with step("the site: the member's coordinates, valid HTML5, no script, a strict CSP"):
        resp = visitor.get(site_url, timeout=30)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "frame-ancestors 'none'" in csp
        valid_html(resp.text)
        assert "Bruno Durand" in resp.text and bruno.email in resp.text
        assert NOTICE.replace("'", "&#39;") in resp.text
        img = visitor.get(f"{base_url}/s/_img/{image['id']}", timeout=30)
        assert img.status_code == 200 and img.headers["Content-Type"] == "image/jpeg"
        assert visitor.get(f"{base_url}/s/{slug}/", timeout=30).status_code == 404  # no page
        missing = visitor.get(f"{base_url}/s/nobody-{uuid.uuid4().hex[:6]}/opportunite",
                              timeout=30)
        assert missing.status_code == 404
        valid_html(missing.text)
        bruno.put("/api/me/site", {"show_email": False})
        assert bruno.email not in visitor.get(site_url, timeout=30).text

    email = f"camille.{uuid.uuid4().hex[:8]}@exemple.fr"

    def office_leads() -> list[dict[str, Any]]:
        return list(bruno.get("/api/leads")["items"])

    with step("too fast, or the honeypot filled: refused, nothing stored"):
        token = token_of(visitor.get(site_url, timeout=30).text)
        fast = visitor.post(site_url, data=visitor_form(token, email), allow_redirects=False,
                            timeout=30)
        assert fast.status_code == 400
        valid_html(fast.text)
        moved_clock.forward(10)
        trap = visitor.post(site_url, data=visitor_form(token, email, website="http://spam"),
                            allow_redirects=False, timeout=30)
        assert trap.status_code == 400
        forged = visitor.post(site_url, data=visitor_form(token[:-2] + "00", email),
                              allow_redirects=False, timeout=30)
        assert forged.status_code == 400
        assert office_leads() == []

    with step("a visitor takes their time: thank-you page, the lead in the office at once"):
        token = token_of(visitor.get(site_url, timeout=30).text)
        moved_clock.forward(10)
        sent = visitor.post(site_url, data=visitor_form(token, email), allow_redirects=False,
                            timeout=30)
        assert sent.status_code == 303, sent.text
        thanks = visitor.get(base_url + sent.headers["Location"], timeout=30)
        assert thanks.status_code == 200 and "Merci" in thanks.text
        valid_html(thanks.text)
        leads = office_leads()  # read-your-writes: no waiting
        assert [(x["origin"], x["email"]) for x in leads] == [("site", email)]
        assert [x["kind"] for x in leads] == ["construction"]  # the brochure site's kind
        lead = bruno.get(f"/api/leads/{leads[0]['id']}")
        assert lead["source_url"].endswith(f"/s/{slug}/opportunite")
        consent = lead["site_consents"]
        assert [(c["notice_text"], c["notice_version"], c["kind"], c["duplicate"])
                for c in consent] == [(NOTICE, "v1", "construction", False)]

    with step("a field to correct is shown on the form, nothing stored"):
        token = token_of(visitor.get(site_url, timeout=30).text)
        moved_clock.forward(10)
        bad = visitor.post(site_url, data=visitor_form(token, "", mobile=""),
                           allow_redirects=False, timeout=30)
        assert bad.status_code == 400
        valid_html(bad.text)
        assert len(office_leads()) == 1

    with step("the same person again: no second lead, the consent recorded again"):
        token = token_of(visitor.get(site_url, timeout=30).text)
        moved_clock.forward(10)
        again = visitor.post(site_url, data=visitor_form(token, email.upper()),
                             allow_redirects=False, timeout=30)
        assert again.status_code == 303
        leads = office_leads()
        assert len(leads) == 1
        consent = bruno.get(f"/api/leads/{leads[0]['id']}")["site_consents"]
        assert [c["duplicate"] for c in consent] == [False, True]

    with step("the notice changes: a form shown with the old one is asked again"):
        token = token_of(visitor.get(site_url, timeout=30).text)
        blocks = alice.get(f"/api/network/site-pages/{page['id']}")["blocks"]
        blocks[-1] = {**blocks[-1], "notice": NOTICE + " Version 2.", "notice_version": "v2"}
        alice.put(f"/api/network/site-pages/{page['id']}",
                  {"kind": "construction", "title": page["title"], "blocks": blocks})
        moved_clock.forward(10)
        stale = visitor.post(site_url, data=visitor_form(token, "autre@exemple.fr"),
                             allow_redirects=False, timeout=30)
        assert stale.status_code == 409 and "Version 2." in stale.text
        assert len(office_leads()) == 1

    with step("the subscription is not renewed: the site answers 410, a neutral page"):
        moved_clock(DAY + timedelta(days=45))
        gone = visitor.get(site_url, timeout=30)
        assert gone.status_code == 410
        valid_html(gone.text)
        assert "Bruno" not in gone.text and bruno.email not in gone.text
        late = visitor.post(site_url, data=visitor_form(token, "x@exemple.fr"),
                            allow_redirects=False, timeout=30)
        assert late.status_code == 410

    with step("renewed: the site is back the same day"):
        again_bruno = Api(base_url).login(bruno.email, MEMBER_PASSWORD)
        subscribe_by_card(again_bruno, "monthly")
        back = wait_until(lambda: visitor.get(site_url, timeout=30),
                          lambda r: r.status_code == 200)
        valid_html(back.text)
        assert "Rejoignez Bruno Durand" in back.text


def test_boutique_order_request_over_http(base_url: str, moved_clock: Any, make_network: Any,
                                          invite_member: Any) -> None:
    """Issue 13 §3: a network's catalogue at ``/b/{slug}/``; an order request is a
    distribution lead in the member's office with the products and quantities in a note."""
    moved_clock(DAY + timedelta(days=50))
    _, alice = make_network(countries=["FR", "BE"])
    _, bruno = invite_member(alice)
    _, idle = invite_member(alice)  # never subscribed: their boutique is inactive
    subscribe_by_card(bruno, "monthly")
    visitor = requests.Session()
    visitor.trust_env = False

    with step("the admin builds the boutique: notice, products with the prices shown"):
        alice.put("/api/network/boutique", {
            "title": "La boutique de {name}", "intro": "<p>Nos <em>soins</em><iframe></iframe></p>",
            "notice": NOTICE, "notice_version": "b1"})
        cream = alice.post("/api/network/boutique/products", {
            "name": "Crème de jour", "description": "50 ml", "price_cents": 1250,
            "order_note": "Livraison sous 8 jours", "position": 1}, expect=201)
        soap = alice.post("/api/network/boutique/products", {
            "name": "Savon", "price_cents": 490, "position": 2}, expect=201)
        shop = alice.get("/api/network/boutique")
        assert [p["id"] for p in shop["products"]] == [cream["id"], soap["id"]]
        assert "iframe" not in shop["boutique"]["intro"]
        assert bruno.call("PUT", "/api/network/boutique", shop["boutique"])[0] == 403

    slug = bruno.get("/api/me/site")["slug"]
    shop_url = f"{base_url}/b/{slug}/"

    with step("the boutique: valid HTML5, the coordinates, the prices, a strict CSP"):
        resp = visitor.get(shop_url, timeout=30)
        assert resp.status_code == 200
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
        valid_html(resp.text)
        assert "La boutique de Bruno Durand" in resp.text and "12,50\u00a0€" in resp.text
        idle_slug = idle.get("/api/me/site")["slug"]
        closed = visitor.get(f"{base_url}/b/{idle_slug}/", timeout=30)
        assert closed.status_code == 410
        valid_html(closed.text)

    email = f"dominique.{uuid.uuid4().hex[:8]}@exemple.fr"

    def order(token: str, **quantities: int) -> requests.Response:
        data = visitor_form(token, email)
        data.update({f"qty-{pid}": str(q) for pid, q in quantities.items()})
        return visitor.post(shop_url, data=data, allow_redirects=False, timeout=30)

    with step("too fast, or nothing chosen: refused, nothing stored"):
        token = token_of(visitor.get(shop_url, timeout=30).text)
        assert order(token, **{cream["id"]: 2}).status_code == 400
        moved_clock.forward(10)
        nothing = order(token)
        assert nothing.status_code == 400 and "au moins un produit" in nothing.text
        assert bruno.get("/api/leads")["items"] == []

    with step("an order request: thank-you page, a lead with the products in a note"):
        sent = order(token, **{cream["id"]: 2, soap["id"]: 1})
        assert sent.status_code == 303, sent.text
        thanks = visitor.get(base_url + sent.headers["Location"], timeout=30)
        assert thanks.status_code == 200
        valid_html(thanks.text)
        leads = bruno.get("/api/leads")["items"]
        assert [(x["origin"], x["email"]) for x in leads] == [("site", email)]
        assert [x["kind"] for x in leads] == ["distribution"]  # a boutique order's kind
        lead = bruno.get(f"/api/leads/{leads[0]['id']}")
        assert [(c["kind"], c["notice_version"]) for c in lead["site_consents"]] == [
            ("distribution", "b1")]
        notes = bruno.get(f"/api/leads/{leads[0]['id']}/notes")["items"]
        assert len(notes) == 1
        assert "2 × Crème de jour (12,50\u00a0€)" in notes[0]["text"]
        assert "1 × Savon (4,90\u00a0€)" in notes[0]["text"]
        assert "29,90\u00a0€" in notes[0]["text"]
