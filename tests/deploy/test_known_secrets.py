"""Every secret value committed in this repository is one a production process refuses.

Configs, compose and deploy files, fakes and tests hold sample values of the secrets
(``CARD_PROVIDER_SECRET``, ``SUIVI_MASTER_KEY``, ``SUIVI_PRINCIPAL_KEY``). Anyone can read
them, so ``suivi_common.production`` must refuse each: a new one committed without being
added to ``KNOWN_DEFAULTS`` (or being an obvious placeholder) fails here.
"""
from __future__ import annotations

import base64
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from suivi_common.production import CHECKED, secret_problem

ROOT = Path(__file__).resolve().parents[2]
NAMES = "|".join(CHECKED)
PATTERNS = [
    # ${NAME:default} and ${NAME:-default} (nameko configs, compose)
    re.compile(rf"\$\{{(?:{NAMES}):-?(?P<value>[^}}]*)\}}"),
    # NAME: value, NAME=value, "NAME": "value" (yaml, env files, shell, docs, Python dicts)
    re.compile(rf"(?<!\{{)\b(?:{NAMES})\b[\"']?\s*[:=]\s*[\"']?(?P<value>[^\s\"'$#,}}{{)(]+)"),
    # get("NAME", "default"): os.environ, env dicts, setting()
    re.compile(rf"get\(\s*[\"'](?:{NAMES})[\"']\s*,\s*[\"'](?P<value>[^\"']+)[\"']"),
    # Python constants holding one: CARD_SECRET = "...", TEST_MASTER_KEY = b"..."
    re.compile(r"^\s*[A-Z_]*(?:SECRET|MASTER_KEY|PRINCIPAL_KEY)[A-Z0-9_]*\s*=\s*(?P<bytes>b?)"
               r"[\"'](?P<value>[^\"']+)[\"']", re.MULTILINE),
]
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".toml", ".md", ".txt", ".json", ".sql", ".cfg",
                 ".ini", ".env", ".sh", ""}


@cache
def committed_values() -> list[tuple[str, str]]:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found: set[tuple[str, str]] = set()
    for name in files:
        path = ROOT / name
        if path.suffix not in TEXT_SUFFIXES or not path.is_file() or "tests/deploy" in name:
            continue
        text = path.read_text(errors="ignore")
        for pattern in PATTERNS:
            for match in pattern.finditer(text):
                value = match.group("value").strip()
                if not value or value.startswith(("$", "<")) or value != "CHANGE_ME" and all(
                        part.isidentifier() for part in value.split(".")):
                    continue  # a reference to a variable or an expression, not a value
                if "bytes" in match.groupdict() and match.group("bytes"):
                    value = base64.b64encode(value.encode()).decode()
                found.add((name, value))
    return sorted(found)


def test_the_scan_finds_the_values_we_know_are_there() -> None:
    values = {value for _, value in committed_values()}
    assert {"dev-card-secret", "CHANGE_ME", "test-secret"} <= values
    assert "c3VpdmktZGV2LW1hc3Rlci1rZXktbm90LXNlY3JldCE=" in values


@pytest.mark.parametrize("where, value", committed_values())
def test_a_committed_value_is_refused_for_every_secret(where: str, value: str) -> None:
    for name in CHECKED:
        assert secret_problem(name, value) is not None, (
            f"{where} commits {value!r}, which {name} would accept in production: add it to "
            "suivi_common.production.KNOWN_DEFAULTS")
