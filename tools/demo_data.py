"""Plans, captured stock, deliveries and office data for ``make demo`` (see demo.py)."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tools.api_client import Api, pay_by_card

FIRST = ["Camille", "Lucas", "Chloé", "Hugo", "Manon", "Louis", "Inès", "Gabriel", "Jade", "Arthur",
         "Emma", "Nathan", "Léna", "Théo", "Zoé", "Mathis", "Sarah", "Enzo", "Lola", "Noah"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux"]
CITIES = {"FR": [("75011", "Paris"), ("69003", "Lyon"), ("13006", "Marseille"), ("31000", "Toulouse"),
                 ("33000", "Bordeaux"), ("44000", "Nantes"), ("59000", "Lille")],
          "BE": [("1000", "Bruxelles"), ("4000", "Liège"), ("9000", "Gand")]}
SITUATIONS = ["salarié", "indépendant", "étudiant", "demandeur d'emploi", "retraité"]


def _lead(rng: random.Random, country: str, quality: str) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    postal, city = rng.choice(CITIES[country])
    mobile = (f"+336{rng.randint(10_000_000, 99_999_999)}" if country == "FR"
              else f"+3247{rng.randint(1_000_000, 9_999_999)}")
    lead: dict[str, Any] = {
        "first_name": first, "last_name": last, "country": country, "postal_code": postal,
        "city": city, "source_url": "https://rejoindre.suivi.example/opportunite",
        "consent_at": (datetime.now(UTC) - timedelta(minutes=rng.randint(5, 600))).isoformat(),
        "capture_ip": f"203.0.113.{rng.randint(1, 254)}", "professional_situation": rng.choice(SITUATIONS),
    }
    if quality in ("premium", "premium_plus"):
        lead["mobile"] = mobile
        lead["email"] = f"{first.lower()}.{last.lower()}{rng.randint(1, 9999)}@exemple.fr".replace(
            "é", "e").replace("è", "e").replace("ï", "i")
    else:
        lead["email" if rng.random() < 0.5 else "mobile"] = (
            f"{last.lower()}{rng.randint(1, 99999)}@exemple.fr" if rng.random() < 0.5 else mobile)
    if quality == "premium_plus":
        lead.update(call_window="18h-20h", time_available="10 h/semaine", income_goal="1500 €/mois")
    return lead


def fill(base: str, staff: Api, admin: Api, members: list[tuple[str, Api]]) -> list[str]:
    rng = random.Random(2026)
    lines: list[str] = []
    site = staff.post("/api/staff/capture-sites", {"name": "Landing opportunité",
                                                   "url": "https://rejoindre.suivi.example"})
    key = site["key"]
    batch = [_lead(rng, rng.choice(["FR", "FR", "FR", "BE"]),
                   rng.choice(["standard", "premium", "premium", "premium_plus"])) for _ in range(400)]
    batch += [{"first_name": "Sans", "country": "FR"}]  # a rejected item: the batch survives it
    results = Api(base).post("/api/capture/leads", {"leads": batch},
                             headers={"X-Capture-Key": key}, expect=200)["results"]
    accepted = sum(r["status"] == "accepted" for r in results)
    lines.append(f"stock: {accepted} captured leads accepted (of {len(batch)} posted)")

    buyers = [api for _, api in members if (api.get("/api/me").get("subscription") or {}).get(
        "status") == "active"] + [admin]
    plans: list[tuple[Api, dict[str, Any]]] = []
    for i, api in enumerate(buyers):
        tier = ["premium", "standard", "premium_plus"][i % 3]
        country = "BE" if i % 4 == 3 else "FR"
        plan = api.post("/api/plans", {"records": 30 + 15 * i, "tier": tier, "country": country,
                                       "payment_method": "card"}, expect=201)
        pay_by_card(plan["payment"])
        plans.append((api, plan))
    pending = buyers[0].post("/api/plans", {"records": 60, "tier": "standard", "country": "FR",
                                            "payment_method": "transfer"}, expect=201)
    lines.append(f"plans: {len(plans)} paid by card, 1 awaiting a transfer ({pending['id']})")
    taken = 0
    for api, plan in plans:
        for _ in range(50):  # the card callback activates it asynchronously
            if api.get(f"/api/plans/{plan['id']}")["status"] == "active":
                break
            import time
            time.sleep(0.1)
        status, body = api.call("POST", f"/api/plans/{plan['id']}/take", {})
        if status == 200:
            taken += len(body["leads"])
    if plans:
        api, plan = plans[-1]
        api.call("PUT", f"/api/plans/{plan['id']}/auto-delivery", {"enabled": True})
    lines.append(f"deliveries: {taken} leads taken today")
    lines.extend(_office(buyers, rng))
    return lines


def _office(buyers: list[Api], rng: random.Random) -> list[str]:
    """Statuses and call notes, once the office endpoints exist."""
    moved = 0
    for api in buyers:
        status, page = api.call("GET", "/api/leads?limit=50")
        if status != 200:
            return []
        statuses = ["contacted", "meeting", "client", "not_interested", "distributor"]
        for item in page["items"][: rng.randint(5, 15)]:
            api.call("POST", f"/api/leads/{item['id']}/notes",
                     {"text": rng.choice(["Rappeler jeudi soir", "Intéressée par le produit",
                                          "Pas joignable, messagerie", "RDV visio fixé"])})
            api.call("POST", f"/api/leads/{item['id']}/status", {"status": rng.choice(statuses)})
            moved += 1
        api.call("POST", "/api/leads", {"first_name": "Perrine", "last_name": "Vasseur",
                                        "country": "FR", "mobile": "+33612345678",
                                        "source_url": "https://mon-site.example",
                                        "consent_at": datetime.now(UTC).isoformat()})
    return [f"office: {moved} leads moved along the pipeline, with call notes"]
