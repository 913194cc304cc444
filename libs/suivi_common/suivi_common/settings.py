"""Read a setting from nameko's global config, then the environment, then a default."""
from __future__ import annotations

import os
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


def is_dev() -> bool:
    """Production is the default: only an explicit ``SUIVI_ENV`` of ``dev`` or ``test``
    turns the dev conveniences on. Unset, empty, ``prod`` or a typo is production, so a
    forgotten variable never exposes the dev clock or starts on a committed secret."""
    return str(setting("SUIVI_ENV", "") or "").strip().lower() in NON_PRODUCTION
