"""Access levels ("niveaux d'accès", admin tool 7): what a member may do in their office.

The vocabulary is the fixed list of ``suivi_common.permissions`` (each service checks the
permissions it owns with ``require_permission``); here are accounts' rules about levels:

* a network has one default level, created granting everything; a member without a level
  of their own holds it, so a new member, or one whose level was removed, is never locked
  out by accident;
* the default level can be edited, never deleted; deleting another level that members
  still hold needs a replacement, so nobody silently changes level;
* an admin holds every permission (they configure the network; levels are for members).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from suivi_common.errors import Conflict, Invalid
from suivi_common.permissions import ALL, PERMISSIONS, normalise, unknown

DEFAULT_LEVEL_NAME = "Accès complet"

__all__ = ["ALL", "DEFAULT_LEVEL_NAME", "PERMISSIONS", "check_deletion", "effective",
           "normalise", "unknown"]


def effective(role: str, own: Sequence[str] | None, default: Sequence[str] | None) -> list[str]:
    """The permissions a user holds: an admin's are all of them; a member's are their
    level's, else the network's default level's (everything if the network has none, as
    before levels were checked). Other roles hold none (no level applies to them)."""
    if role == "admin":
        return list(ALL)
    if role != "user":
        return []
    chosen: Iterable[str] = own if own is not None else (default if default is not None else ALL)
    return normalise(p for p in chosen if p in PERMISSIONS)


def check_deletion(*, level_id: str, is_default: bool, holders: int,
                   replacement_id: str | None) -> None:
    """Refuse deleting the default level, or a held level without another one to move
    its holders to."""
    if is_default:
        raise Conflict("The network's default level cannot be deleted",
                       code="default_access_level")
    if replacement_id is not None and replacement_id == level_id:
        raise Invalid("A level cannot replace itself",
                      fields={"replacement_id": "must be another level"},
                      code="replacement_invalid")
    if holders and replacement_id is None:
        raise Conflict(f"{holders} member(s) hold this level: give a replacement level",
                       code="access_level_in_use", fields={"holders": holders})
