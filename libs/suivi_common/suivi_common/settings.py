"""Read a setting from nameko's global config, then the environment, then a default."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nameko import config

#: The environments that are not production. ``test`` is what the test fixtures set
#: (``suivi_common.testing.infra.base_config``); it behaves as ``dev``: dev clock,
#: generated master key, no start-up refusal of default secrets.
NON_PRODUCTION = ("dev", "test")


def setting(key: str, default: Any = None) -> Any:
    value = config.get(key)
    if value is None:
        value = os.environ.get(key)
    return default if value is None else value


def key_file(path: Path, generate: Callable[[], str]) -> str:
    """The key kept in ``path`` (dev and test platforms), written first with ``generate()``
    if missing; atomically, so the first of several starting processes wins."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(generate())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def is_dev() -> bool:
    """Production is the default: only an explicit ``SUIVI_ENV`` of ``dev`` or ``test``
    turns the dev conveniences on. Unset, empty, ``prod`` or a typo is production, so a
    forgotten variable never exposes the dev clock or starts on a committed secret."""
    return str(setting("SUIVI_ENV", "") or "").strip().lower() in NON_PRODUCTION


class Tunables:
    """A service's tunables and their defaults, read at each use (so tests and operators
    retune them without a restart; ``nameko run`` installs the config after import).
    An empty value is the default; an undeclared key is a KeyError, not a silent None."""

    def __init__(self, **defaults: Any) -> None:
        self.defaults = defaults

    def get(self, key: str) -> Any:
        value = setting(key, self.defaults[key])
        return self.defaults[key] if value == "" else value

    def get_int(self, key: str) -> int:
        return int(self.get(key))

    def get_float(self, key: str) -> float:
        return float(self.get(key))

    def timer(self, key: str, eager: bool = False) -> Any:
        """A nameko timer every ``key`` seconds (``suivi_common.timers.ConfigTimer``)."""
        from suivi_common.timers import ConfigTimer  # it reads settings: import it late

        return ConfigTimer.decorator(key, self.defaults[key], eager=eager)
