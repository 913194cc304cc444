"""The register's view of leads (annex IV.14): ``leads.data_map()`` with the retention
settings in force."""
from __future__ import annotations

from typing import Any

from leads.domain.datamap import data_map as declared
from leads.settings import TUNABLES as LEADS
from leads.usecases.retention import TUNABLES


def data_map() -> dict[str, Any]:
    return declared(office_months=TUNABLES.get_int("OFFICE_RETENTION_MONTHS"),
                    unsold_months=TUNABLES.get_int("UNSOLD_RETENTION_MONTHS"),
                    freshness_days=LEADS.get_int("FRESHNESS_DAYS"),
                    duplicate_days=LEADS.get_int("DUPLICATE_WINDOW_DAYS"))
