"""Dev-mode clock control shared by every process of a local platform.

The gateway's ``POST /api/dev/clock`` broadcasts the new offset to every service
instance and writes it to a file, so a service (re)started later picks it up too.
Outside dev mode nothing here does anything.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from suivi_common import clock
from suivi_common.settings import is_dev, setting


def _path() -> Path:
    return Path(setting("SUIVI_DEV_CLOCK_FILE", "var/dev-clock.json"))


def apply(payload: dict[str, Any]) -> None:
    if not is_dev():
        return
    clock.set_offset(float(payload.get("offset_seconds", 0.0)))


def persist(offset_seconds: float) -> None:
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"offset_seconds": offset_seconds}))
    tmp.replace(path)


def load_persisted() -> None:
    if not is_dev():
        return
    path = _path()
    if path.exists():
        try:
            apply(json.loads(path.read_text()))
        except (ValueError, OSError):
            pass
