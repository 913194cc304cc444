"""Runs ``usecases.bootstrap`` when the container starts (before it is reported
started), retrying in the background if the database is not reachable yet."""
from __future__ import annotations

import logging
from typing import Any

from nameko.extensions import DependencyProvider

from accounts.usecases import bootstrap
from suivi_common.database import Database

log = logging.getLogger(__name__)
RETRY_SECONDS = (1, 2, 5, 10, 30)


class Bootstrap(DependencyProvider):
    ready = False  # health says "starting" until the staff account and terms exist

    def _database(self) -> Database:
        for dep in self.container.dependencies:
            if isinstance(dep, Database):
                return dep
        raise RuntimeError("Bootstrap needs the service's Database dependency")

    def _run(self) -> bool:
        db = self._database()
        try:
            bootstrap.run(db.engine, db.keyring)
            self.ready = True
            return True
        except Exception:
            log.exception("bootstrap failed; will retry")
            return False

    def start(self) -> None:
        if not self._run():
            self.container.spawn_managed_thread(self._retry, identifier="accounts-bootstrap")

    def _retry(self) -> None:
        import eventlet

        attempt = 0
        while True:
            eventlet.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            attempt += 1
            if self._run():
                return

    def get_dependency(self, worker_ctx: Any) -> None:
        return None
