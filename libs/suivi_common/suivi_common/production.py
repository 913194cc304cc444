"""Start-up refusal of unsafe secrets in production.

Production is the default (``settings.is_dev``), so a process started without its secrets,
or with a value anyone can read in this repository, must not come up quietly: it would sign
card callbacks, principals or data keys with a key an attacker knows. Each process checks
the secrets it uses (``secrets_used_by``) before it connects to anything, and refuses to
start with one line that names every bad variable.

A value is refused when it is missing, shorter than 32 bytes (``SUIVI_MASTER_KEY``: its
base64-decoded bytes, and exactly 32), a value committed in this repository or its deploy
files (``KNOWN_DEFAULTS``), or looks like a placeholder (``CHANGE_ME``, "not-secret", a
handful of distinct characters...).
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any

from suivi_common.settings import is_dev, setting

MIN_BYTES = 32

CARD_PROVIDER_SECRET = "CARD_PROVIDER_SECRET"
SUIVI_MASTER_KEY = "SUIVI_MASTER_KEY"
SUIVI_PRINCIPAL_KEY = "SUIVI_PRINCIPAL_KEY"
CHECKED = (CARD_PROVIDER_SECRET, SUIVI_MASTER_KEY, SUIVI_PRINCIPAL_KEY)

#: Every process of the platform signs or verifies principals.
USED_BY_EVERY_PROCESS = (SUIVI_PRINCIPAL_KEY,)

#: Values committed in this repository (configs, compose and deploy files, fakes, tests).
#: ``tests/deploy/test_known_secrets.py`` finds every literal assigned to a checked variable
#: in the repository and fails if one is missing here.
KNOWN_DEFAULTS = frozenset({
    "dev-card-secret",  # gateway/config.yaml, tools/platform.py, docker-compose, card fake
    "test-secret",  # accounts integration tests
    "CHANGE_ME",  # deploy/k8s/secret.yaml
    "c3VpdmktZGV2LW1hc3Rlci1rZXktbm90LXNlY3JldCE=",  # docker-compose dev master key
    "b2ZmaWNlLXRlc3RzLW1hc3Rlci1rZXktMzItYnl0ZXM=",  # leads office tests master key
})
#: Words that only placeholders and sample values contain (checked case-insensitively, in the
#: value and in its base64-decoded bytes).
PLACEHOLDER_MARKERS = ("change_me", "changeme", "change-me", "not-secret", "not_secret",
                       "notsecret", "placeholder", "example", "dev-", "-dev", "test-", "-test",
                       "default")
MIN_DISTINCT_CHARACTERS = 8


class UnsafeConfiguration(SystemExit):
    """Raised at start-up; uncaught, Python prints its one-line message and exits with 1."""


def _decoded(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _placeholder(value: str) -> bool:
    texts = [value.lower()]
    decoded = _decoded(value)
    if decoded is not None:
        texts.append(decoded.decode("latin-1").lower())
    return any(marker in text for text in texts for marker in PLACEHOLDER_MARKERS)


def secret_problem(name: str, value: Any) -> str | None:
    """Why ``value`` may not be used as the secret ``name`` in production, or None."""
    if value is None or not str(value).strip():
        return f"{name} is missing"
    text = str(value).strip()
    if text in KNOWN_DEFAULTS or _placeholder(text):
        return f"{name} is a known default or placeholder value"
    if name == SUIVI_MASTER_KEY:
        key = _decoded(text)
        if key is None:
            return f"{name} is not base64"
        if len(key) < MIN_BYTES:
            return f"{name} is too short ({len(key)} bytes, needs {MIN_BYTES})"
        if len(key) != MIN_BYTES:
            return f"{name} must be exactly {MIN_BYTES} bytes"
    elif len(text.encode()) < MIN_BYTES:
        return f"{name} is too short ({len(text.encode())} bytes, needs {MIN_BYTES})"
    if len(set(text)) < MIN_DISTINCT_CHARACTERS:
        return f"{name} looks like a placeholder (too few distinct characters)"
    return None


def secrets_used_by(container: Any) -> tuple[str, ...]:
    """The secrets a container's process uses: the principal key, plus whatever the service
    class and its dependency providers declare in ``secrets_used`` (``Database``: the master
    key; the gateway: the card provider's callback secret)."""
    names = list(USED_BY_EVERY_PROCESS)
    names += getattr(container.service_cls, "secrets_used", ())
    for dependency in getattr(container, "dependencies", ()):
        names += getattr(dependency, "secrets_used", ())
    return tuple(dict.fromkeys(names))


def refuse_unsafe_secrets(names: Iterable[str]) -> None:
    """In production, raise ``UnsafeConfiguration`` naming every unsafe secret of ``names``."""
    if is_dev():
        return
    problems = [p for p in (secret_problem(n, setting(n)) for n in dict.fromkeys(names)) if p]
    if problems:
        raise UnsafeConfiguration("refusing to start in production: " + "; ".join(problems))
