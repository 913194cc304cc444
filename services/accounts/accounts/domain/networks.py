"""Network settings an admin controls (terms art. 1, glossary): the countries its
users may buy leads in and the announcement shown to members."""
from __future__ import annotations

from suivi_common.countries import country_code
from suivi_common.errors import FieldError

NETWORK_NAME_MAX = 120
ANNOUNCEMENT_MAX = 5000
ACCESS_LEVEL_NAME_MAX = 60


class SettingError(FieldError):
    """A network setting refused: ``field`` names it."""


def _clean_name(value: object, what: str, longest: int) -> str:
    """A name on one line (runs of white space folded), ``longest`` characters at most."""
    if not isinstance(value, str) or not value.strip():
        raise SettingError("name", f"The {what} needs a name.")
    name = " ".join(value.split())
    if len(name) > longest:
        raise SettingError("name", f"At most {longest} characters.")
    return name


def clean_network_name(value: object) -> str:
    return _clean_name(value, "network", NETWORK_NAME_MAX)


def clean_open_countries(value: object) -> list[str]:
    """ISO 3166-1 alpha-2 codes, upper-cased, deduplicated, in the order given."""
    if not isinstance(value, list):
        raise SettingError("open_countries", "A list of ISO 3166 alpha-2 country codes is expected.")
    codes: list[str] = []
    bad: list[str] = []
    for item in value:
        code = country_code(item)
        if code is None:
            bad.append(str(item))
        elif code not in codes:
            codes.append(code)
    if bad:
        raise SettingError("open_countries", f"Unknown country code(s): {', '.join(bad)}.")
    return codes


def clean_announcement(value: object) -> str | None:
    """Empty text clears the announcement."""
    if not isinstance(value, str):
        raise SettingError("announcement", "The announcement must be text.")
    text = value.strip()
    if len(text) > ANNOUNCEMENT_MAX:
        raise SettingError("announcement", f"At most {ANNOUNCEMENT_MAX} characters.")
    return text or None


def clean_access_level_name(value: object) -> str:
    return _clean_name(value, "access level", ACCESS_LEVEL_NAME_MAX)


def invitation_conflict_told(holder_network_id: object, admin_network_id: object) -> bool:
    """Whether an admin inviting an address that already has an account is told so: only
    when that account is in the admin's own network (they can see it in their member list
    anyway). An account elsewhere (another network, staff) is never revealed: the answer
    is the same as for a new address, so invitations cannot probe who uses the platform."""
    return holder_network_id is not None and holder_network_id == admin_network_id
