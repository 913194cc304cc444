"""What an access level may grant, and the one check every service uses (admin tool 7).

The list is fixed, so a typo never silently grants nothing and each service can rely on
the names. Accounts stores the levels; the service that owns an action checks it here:

* the gateway asks ``accounts.authenticate`` who a bearer token is, and the answer carries
  the member's level's permissions; the gateway signs them into the request's principal
  (``principals``), so a service reads them from ``self.principal`` without a call. A
  changed level evicts the gateway's cached answers of that network at once (and on every
  gateway instance through ``access_levels_changed``), so the next request carries it;
* ``permissions`` None means no level applies to this principal: a service, staff, a
  principal signed before levels existed, or a test's hand-made one. Only members' answers
  from ``authenticate`` carry a list, and an admin's holds every permission (the admin
  configures the network; levels are for its members).

A refusal is ``403 {"error": {"code": "permission_denied", "permission": ...}}``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nameko.exceptions import get_module_path, registry

from suivi_common.errors import Forbidden, Unauthorized, _rebuild
from suivi_common.identity import Principal

BUY_LEADS = "buy_leads"
TAKE_LEADS = "take_leads"
EXPORT_LEADS = "export_leads"
SEND_EMAIL = "send_email"
USE_AUTOMATIONS = "use_automations"
EDIT_SITE = "edit_site"
VIEW_STATISTICS = "view_statistics"
MANAGE_DOCUMENTS = "manage_documents"

#: name -> what it lets a member do (the vocabulary admins pick from).
PERMISSIONS: dict[str, str] = {
    BUY_LEADS: "Buy and extend plans of purchased leads.",
    TAKE_LEADS: "Take the day's leads of one's plans.",
    EXPORT_LEADS: "Export one's leads to a spreadsheet.",
    SEND_EMAIL: "Send emails to one's leads.",
    USE_AUTOMATIONS: "Use the network's automatic emails (pause or resume them).",
    EDIT_SITE: "Edit the parts of one's website the admin leaves open.",
    VIEW_STATISTICS: "See the network's statistics models on one's own data.",
    MANAGE_DOCUMENTS: "Add, read and delete one's work documents.",
}
ALL: tuple[str, ...] = tuple(sorted(PERMISSIONS))


class PermissionDenied(Forbidden):
    """The caller's access level does not grant ``permission``."""

    default_code = "permission_denied"
    default_message = "Your access level does not allow this"

    @property
    def permission(self) -> str | None:
        return (self.fields or {}).get("permission")

    def to_body(self) -> dict[str, Any]:
        body = super().to_body()
        body["error"]["permission"] = self.permission
        return body


registry[get_module_path(PermissionDenied)] = lambda *a: _rebuild(PermissionDenied, *a)


def denied(permission: str) -> PermissionDenied:
    return PermissionDenied(f"Your access level does not allow this ({permission})",
                            fields={"permission": permission})


def unknown(names: Iterable[str]) -> list[str]:
    return sorted({n for n in names if n not in PERMISSIONS})


def normalise(names: Iterable[str]) -> list[str]:
    """Deduplicated and sorted, for stable storage and comparison."""
    return sorted(set(names))


def granted(principal: Principal | None, permission: str) -> bool:
    """Whether ``principal`` may do what ``permission`` names (see the module's doc)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    if principal is None:
        return False
    return principal.permissions is None or permission in principal.permissions


def require_permission(principal: Principal | None, permission: str) -> Principal:
    """The caller, if their access level grants ``permission``; else ``PermissionDenied``
    (anonymous: ``Unauthorized``)."""
    if principal is None:
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        raise Unauthorized()
    if not granted(principal, permission):
        raise denied(permission)
    return principal
