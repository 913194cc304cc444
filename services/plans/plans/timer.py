"""A nameko timer whose interval is a config key, read when the container sets up."""
from __future__ import annotations

from typing import Any

from nameko.timer import Timer

from plans import settings


class ConfigTimer(Timer):
    def __init__(self, key: str, eager: bool = False, **kwargs: Any) -> None:
        super().__init__(float(settings.DEFAULTS[key]), eager=eager, **kwargs)
        self.key = key

    def setup(self) -> None:
        self.interval = settings.get_float(self.key)
        super().setup()


config_timer = ConfigTimer.decorator
