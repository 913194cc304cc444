"""The second factor's rules (issue 14 §1): TOTP codes (RFC 6238), recovery codes, who
must have a factor. Plain functions; time is an argument (``suivi_common.clock`` upstream)."""
from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta

import pyotp

#: RFC 6238 defaults, which every authenticator app understands
PERIOD_SECONDS = 30
DIGITS = 6
#: a code of the step before or after the current one is accepted too (clock drift,
#: typing time); a wider window only helps guessing
VALID_WINDOW = 1
ISSUER = "Suivi"
RECOVERY_CODE_COUNT = 10
#: between the password and the code
CHALLENGE_TTL = timedelta(minutes=5)
#: a staff or compliance account acts on everyone's data: a stolen password must not do
REQUIRED_ROLES = frozenset({"staff", "compliance"})
DEV_BOOTSTRAP_EXEMPTION = "dev bootstrap"

_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    """160 random bits in base32, as RFC 4226 recommends."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account_name: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS).provisioning_uri(
        name=account_name, issuer_name=ISSUER)


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // PERIOD_SECONDS


def code_at(secret: str, step: int) -> str:
    """The code of ``step`` (what an app shows during that step)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS).at(step * PERIOD_SECONDS)


def normalise_code(code: object) -> str | None:
    """Six digits, spaces allowed as typed from an app ("123 456"); None otherwise."""
    if not isinstance(code, str):
        return None
    digits = code.replace(" ", "")
    return digits if len(digits) == DIGITS and digits.isascii() and digits.isdigit() else None


def matching_step(secret: str, code: object, now: datetime, last_used_step: int | None) -> int | None:
    """The time step whose code ``code`` is, within the window around ``now``, or None.

    A step at or before ``last_used_step`` never matches: a code once used (or any older
    one) cannot be replayed, even inside its window."""
    typed = normalise_code(code)
    if typed is None:
        return None
    current = time_step(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(code_at(secret, step), typed):
            return step
    return None


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``xxxxx-xxxxx`` codes of about 49 random bits each, shown once."""
    def one() -> str:
        chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return f"{chars[:5]}-{chars[5:]}"
    return [one() for _ in range(count)]


def normalise_recovery_code(code: object) -> str | None:
    """A recovery code as stored (lower case, one dash), whatever the case or spacing
    typed; None when it cannot be one."""
    if not isinstance(code, str) or len(code) > 40:
        return None
    chars = re.sub(r"[\s-]", "", code).lower()
    if len(chars) != 10 or any(c not in _RECOVERY_ALPHABET for c in chars):
        return None
    return f"{chars[:5]}-{chars[5:]}"


def factor_required(role: str) -> bool:
    return role in REQUIRED_ROLES


def exemption(role: str, env: str, email: str, bootstrap_email: str | None) -> str | None:
    """Why this account may go without a factor it would need, or None. Only on a dev
    platform (``SUIVI_ENV=dev``, not test, never production), and only the bootstrap staff
    account ``make run`` creates, so a developer can log in without a phone."""
    if not factor_required(role) or env != "dev" or not bootstrap_email:
        return None
    return DEV_BOOTSTRAP_EXEMPTION if email == bootstrap_email else None


def enrolment_required(role: str, has_active_factor: bool, exempt: bool) -> bool:
    """Whether the account may do nothing but enrol a factor."""
    return factor_required(role) and not has_active_factor and not exempt
