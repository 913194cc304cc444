"""Rotating a network's data key (``usecases.key_rotation``): staff RPCs, driven by
``python -m tools.rotate_data_key`` and not routed by the gateway. A mixin, so the
office tests' service runs them too."""
from __future__ import annotations

from typing import Any

from leads.usecases import key_rotation
from leads.usecases.office.context import OfficeCtx
from suivi_common import clock
from suivi_common.auth import require
from suivi_common.service_base import rpc_api


class KeyRotationEntrypoints:
    db: Any
    principal: Any

    @rpc_api
    def begin_data_key_rotation(self, network_id: str) -> dict[str, Any]:
        require(self.principal, "staff")
        return key_rotation.begin(self.db.keyring, self.db.session, network_id)

    @rpc_api
    def reseal_data_key_batch(self, network_id: str, after: str | None = None) -> dict[str, Any]:
        require(self.principal, "staff")
        return key_rotation.reseal_batch(self.db.vault, self.db.session, network_id, after)

    @rpc_api
    def finish_data_key_rotation(self, network_id: str) -> dict[str, Any]:
        require(self.principal, "staff")
        return key_rotation.finish(self.db.keyring, OfficeCtx(
            self.db.session, self.db.vault, clock.now(), self.db.emit), network_id)
