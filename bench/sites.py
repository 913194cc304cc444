"""The users' public sites (issue 13 §8): the page a visitor opens, and a capture form
until its lead is in the office.

``run_page``: a fresh platform; a network admin builds the product page (distribution,
``/s/{slug}/``) with a heading, two rich-text blocks, a video link and a capture form;
one member with an open office (monthly subscription by card). Then ``GET /s/{slug}/``
(anonymous: gateway → ``accounts.public_site`` → the page rendered with a freshly signed
form token) at 16 keep-alive connections against the bare Nameko ``@http`` → RPC echo, in
alternating rounds (``bench.web_common.against_echo``). Target: ≥ 0.8 of the echo's
req/s, p99 < 50 ms.

``run_form``: the same set-up, then ``BENCH_SITE_FORMS`` (200) visitors one after the
other: each GETs the page (its form token), POSTs the form, and the member lists the
office through ``GET /api/leads`` until that lead is there. Timed from the POST to the
listing that shows the lead; the POST alone is reported too. The platform runs with
``SITE_FORM_MIN_SECONDS=0`` (the minimum fill time would otherwise make every visitor
wait 3 s, which measures nothing; the check itself still runs), and each visitor comes
from an address of its own through ``X-Forwarded-For`` with ``TRUSTED_PROXIES=127.0.0.1``
(the per-address limit, 10 forms a window, stays as it is and is not hit).
"""
from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import requests

from bench.web_common import Network, against_echo, network_platform

FORMS = int(os.environ.get("BENCH_SITE_FORMS", "200"))
NOTICE = ("Vos données sont traitées par votre conseiller pour vous recontacter au sujet de "
          "nos produits. Vous pouvez exercer vos droits à tout moment.")
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
BLOCKS = [
    {"id": "intro", "type": "heading", "text": "Les produits de {name}", "overridable": True},
    {"type": "text", "html": "<p>Bienvenue ! Je vous conseille sur <strong>toute la gamme"
                             "</strong> : soins, nutrition, maison. Appelez le {phone}.</p>"},
    {"type": "text", "html": "<ul><li>Livraison en 8 jours</li><li>Conseil personnalisé</li>"
                             "<li>Satisfait ou remboursé</li></ul>"},
    {"type": "video", "url": "https://video.example/presentation", "title": "Présentation"},
    {"id": "contact", "type": "form", "notice": NOTICE, "notice_version": "v1",
     "submit_label": "Être recontacté"},
]


def _site(net: Network) -> str:
    """The product page built by the admin; returns the member's site URL."""
    net.admin.post("/api/network/site-pages", {
        "kind": "distribution", "title": "Les produits de {name}", "blocks": BLOCKS},
        expect=201)
    slug = net.member.get("/api/me/site")["slug"]
    url = f"{net.platform.url}/s/{slug}/"
    r = requests.get(url, timeout=30)
    assert r.status_code == 200 and "Bruno Durand" in r.text and TOKEN.search(r.text), r.text[:500]
    return url


def run_page() -> dict[str, Any]:
    with network_platform("_bench_site") as net:
        url = _site(net)
        size = len(requests.get(url, timeout=30).content)
        print(f"  GET /s/{{slug}}/: {size} bytes of HTML", flush=True)
        result = against_echo("site_page", url, {})
    result.update(page_bytes=size, targets={"ratio_at_least": 0.8, "p99_under_ms": 50})
    return result


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def run_form() -> dict[str, Any]:
    with network_platform("_bench_form", SITE_FORM_MIN_SECONDS="0",
                          TRUSTED_PROXIES="127.0.0.1") as net:
        url = _site(net)
        visitor = requests.Session()
        visitor.trust_env = False
        posts: list[float] = []
        listed: list[float] = []
        polls = 0
        for i in range(FORMS):
            ip = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256 + 1}"
            page = visitor.get(url, timeout=30, headers={"X-Forwarded-For": ip})
            found = TOKEN.search(page.text)
            assert found, page.text[:500]
            email = f"visiteur{i}@exemple.fr"
            form = {"form_token": found.group(1), "first_name": "Camille",
                    "last_name": f"Lefèvre{i}", "email": email, "mobile": "",
                    "postal_code": "75011", "city": "Paris", "country": "FR", "website": ""}
            started = time.perf_counter()
            sent = visitor.post(url, data=form, allow_redirects=False, timeout=30,
                                headers={"X-Forwarded-For": ip})
            posts.append(time.perf_counter() - started)
            assert sent.status_code == 303, (sent.status_code, sent.text[:1000])
            while True:
                polls += 1
                items = net.member.get("/api/leads?limit=5")["items"]
                if any(x.get("email") == email for x in items):
                    break
                if time.perf_counter() - started > 30:
                    raise AssertionError(f"lead {email} not listed after 30 s")
            listed.append(time.perf_counter() - started)
    result = {"forms": FORMS, "post": _percentiles(posts), "post_to_listed": _percentiles(listed),
              "listings_per_form": round(polls / FORMS, 2), "load_average": os.getloadavg(),
              "settings": {"SITE_FORM_MIN_SECONDS": "0", "TRUSTED_PROXIES": "127.0.0.1"}}
    print(f"  {FORMS} forms: POST p50 {result['post']['p50_ms']} ms p99 "
          f"{result['post']['p99_ms']} ms | POST → listed p50 "
          f"{result['post_to_listed']['p50_ms']} ms p99 {result['post_to_listed']['p99_ms']} ms "
          f"({result['listings_per_form']} listings a form); load average "
          f"{result['load_average']}", flush=True)
    return result


if __name__ == "__main__":
    print(json.dumps({"page": run_page(), "form": run_form()}, indent=2, default=str))
