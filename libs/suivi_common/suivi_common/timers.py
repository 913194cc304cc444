"""Timers whose interval is a setting (the class lives with the settings it reads)."""
from __future__ import annotations

from suivi_common.settings import ConfigTimer as ConfigTimer

config_timer = ConfigTimer.decorator
