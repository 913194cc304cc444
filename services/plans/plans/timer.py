"""The shared config timer, defaulting to plans' own settings."""
from __future__ import annotations

from typing import Any

from plans import settings
from suivi_common.timers import ConfigTimer


def config_timer(key: str, eager: bool = False) -> Any:
    return ConfigTimer.decorator(key, settings.DEFAULTS[key], eager=eager)
