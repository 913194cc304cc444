"""Read a setting from nameko's global config, then the environment, then a default."""
from __future__ import annotations

import os
from typing import Any

from nameko import config


def setting(key: str, default: Any = None) -> Any:
    value = config.get(key)
    if value is None:
        value = os.environ.get(key)
    return default if value is None else value


def is_dev() -> bool:
    return str(setting("SUIVI_ENV", "dev")).lower() in ("dev", "test")
