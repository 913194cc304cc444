"""What a network admin can grant through an access level ("niveau d'accès"): a fixed
vocabulary, so a typo never silently grants nothing and other services can rely on
the names. Each service checks the permissions it owns."""
from __future__ import annotations

from collections.abc import Iterable

PERMISSIONS: dict[str, str] = {
    "office.read": "See one's own office: leads, clients, distributors.",
    "office.write": "Create and edit leads, clients and distributors.",
    "leads.export": "Export one's leads to a spreadsheet.",
    "leads.capture": "Capture leads on one's own web forms.",
    "plans.read": "See one's plans of purchased leads.",
    "plans.buy": "Buy and extend plans of purchased leads.",
    "emails.send": "Send emails to leads.",
    "emails.templates": "Create and edit email templates.",
    "automations.manage": "Set up emails sent automatically on a status change.",
    "documents.read": "Read the network's shared documents.",
    "documents.write": "Add and edit shared documents.",
    "network.members.read": "See the list of the network's members.",
}


def unknown(permissions: Iterable[str]) -> list[str]:
    return sorted({p for p in permissions if p not in PERMISSIONS})


def normalise(permissions: Iterable[str]) -> list[str]:
    """Deduplicated and sorted, for stable storage and comparison."""
    return sorted(set(permissions))
