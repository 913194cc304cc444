"""A nameko timer whose interval is a config key (config, then environment, then the
default), read when the container sets up, so ops and tests can retune it."""
from __future__ import annotations

from typing import Any

from nameko.timer import Timer

from suivi_common.settings import setting


class ConfigTimer(Timer):
    def __init__(self, key: str, default: float, eager: bool = False, **kwargs: Any) -> None:
        super().__init__(float(default), eager=eager, **kwargs)
        self.key = key
        self.default = default

    def setup(self) -> None:
        self.interval = float(setting(self.key, self.default))
        super().setup()


config_timer = ConfigTimer.decorator
