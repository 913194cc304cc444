"""``make demo``: fill a running platform with a believable network and print the logins.

It talks to the gateway over HTTP like any client, reads invitation mails from the dev
SMTP sink's folder, and pays with the fake card provider. Each run creates a new network.
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import requests

from tools.api_client import Api, Mailbox, onboard, subscribe_by_card
from tools.platform import DEV_STAFF, ROOT

PASSWORD = "Tournesol-Ardoise-Lagune-47"
PEOPLE = [("Camille", "Lefèvre"), ("Julien", "Moreau"), ("Sophie", "Garnier"),
          ("Thomas", "Rousseau"), ("Léa", "Fontaine")]


def main() -> int:
    base = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}"
    try:
        requests.get(base + "/health", timeout=5)
    except requests.RequestException:
        print(f"No platform answers at {base}: start it with `make run` first.", file=sys.stderr)
        return 1
    mailbox = Mailbox(Path(os.environ.get("SUIVI_VAR", ROOT / "var")) / "mail")
    tag = uuid.uuid4().hex[:4]
    staff = Api(base).login(os.environ.get("SUIVI_STAFF_EMAIL", DEV_STAFF[0]),
                            os.environ.get("SUIVI_STAFF_PASSWORD", DEV_STAFF[1]))
    admin_email = f"admin.{tag}@horizon.example"
    network = staff.post("/api/networks", {"name": f"Réseau Horizon {tag}", "admin": {
        "email": admin_email, "first_name": "Nadia", "last_name": "Benali"}})
    admin = onboard(base, mailbox, admin_email, PASSWORD)
    admin.put("/api/network/settings", {"open_countries": ["FR", "BE", "CH"],
                                        "announcement": "Bienvenue dans le réseau Horizon !"})
    subscribe_by_card(admin, "annual")
    logins = [("admin", admin_email)]
    members: list[tuple[str, Api]] = []
    for i, (first, last) in enumerate(PEOPLE):
        email_addr = f"{first.lower().replace('é', 'e')}.{tag}@horizon.example"
        admin.post("/api/network/members", {"email": email_addr, "first_name": first,
                                            "last_name": last})
        api = onboard(base, mailbox, email_addr, PASSWORD)
        if i % 3 == 0:
            subscribe_by_card(api, "monthly")
        elif i % 3 == 1:
            sub = api.post("/api/subscriptions", {"period": "quarterly", "payment_method": "transfer"})
            staff.post(f"/api/staff/payments/{sub['payment']['id']}/validate")
        # the third kind stays without a subscription: an office that is closed
        members.append((email_addr, api))
        logins.append(("user", email_addr))
    extras = fill_later_services(base, staff, admin, members)
    print(f"\nDemo network '{network['name']}' is ready at {base}")
    print(f"  web office: {base}/web/ (log in with a user's email below)")
    print(f"  staff: {DEV_STAFF[0]} / {DEV_STAFF[1]}")
    for role, email_addr in logins:
        print(f"  {role:5} {email_addr} / {PASSWORD}")
    for line in extras:
        print(f"  {line}")
    return 0


def fill_later_services(base: str, staff: Api, admin: Api, members: list[tuple[str, Api]]) -> list[str]:
    """Plans, leads and office data, once those services answer (later issues)."""
    lines: list[str] = []
    try:
        from tools import demo_data
    except ImportError:
        return lines
    lines.extend(demo_data.fill(base, staff, admin, members))
    return lines


if __name__ == "__main__":
    sys.exit(main())


__all__: list[Any] = ["main"]
