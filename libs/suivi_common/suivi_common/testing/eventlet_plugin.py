"""pytest plugin: monkey-patch eventlet before any test module is imported, and mark the
run as a test environment.

Plain pytest does not patch eventlet and nameko 3's plugin no longer does; patching at
import time would break pytest's capture manager, so it happens in this early hook.
"""
import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
# Production is the default (``suivi_common.settings.is_dev``); the tests say they are tests.
os.environ.setdefault("SUIVI_ENV", "test")


def pytest_load_initial_conftests(early_config, parser, args):  # type: ignore[no-untyped-def]
    import eventlet

    eventlet.monkey_patch()
