"""pytest plugin: monkey-patch eventlet before any test module is imported, and mark the
run as a test environment.

Plain pytest does not patch eventlet and nameko 3's plugin no longer does; patching at
import time would break pytest's capture manager, so it happens in this early hook.
"""
import os
from pathlib import Path

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
# Production is the default (``suivi_common.settings.is_dev``); the tests say they are tests.
os.environ.setdefault("SUIVI_ENV", "test")
# The key test processes sign principals with, also where no nameko config is patched in
# (infra.base_config names the same file).
os.environ.setdefault("SUIVI_PRINCIPAL_KEY_FILE",
                      str(Path(os.environ.get("SUIVI_VAR", "var")).resolve()
                          / "test-principal.key"))


def pytest_load_initial_conftests(early_config, parser, args):  # type: ignore[no-untyped-def]
    import eventlet

    eventlet.monkey_patch()
