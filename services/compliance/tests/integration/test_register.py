"""The register, assembled on request from the services' data maps (a fake leads declares
one; the others are not running, so they are listed as missing), the sub-processors and
the DPO from the settings."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from compliance.testing import leads_map
from suivi_common import clock
from suivi_common.errors import Forbidden


def test_the_register_is_generated_from_declarations(h: Any,
                                                     leads_data_map: dict[str, Any]) -> None:
    leads_data_map.update(leads_map())
    clock.freeze(datetime(2026, 3, 2, 9, tzinfo=UTC))
    h.compliance.announce_subprocessor_change({
        "kind": "add", "name": "Hébergeur SAS", "contact": "dpo@heb.fr",
        "activity": "Hébergement", "country": "FR", "contract_start": "2026-04-01",
        "effective_from": (clock.now() + timedelta(days=30)).isoformat()})
    doc = h.compliance.processing_register()
    assert doc["processor"]["dpo"] == {"name": "Claire Dupont", "email": "dpo@suivi.test"}
    assert doc["declared_by"] == ["compliance", "leads"]
    assert set(doc["missing"]) == {"accounts", "plans", "mailer", "controllers"}
    assert [a["name"] for a in doc["activities"] if a["service"] == "leads"] == [
        "Bureau des prospects"]
    assert [s["name"] for s in doc["subprocessors"]] == ["Hébergeur SAS"]
    assert doc["subprocessors"][0]["status"] == "announced"


def test_an_invalid_map_is_reported_not_included(h: Any, leads_data_map: dict[str, Any]) -> None:
    leads_data_map.update(leads_map(), format_version=7)
    doc = h.compliance.processing_register()
    assert "format_version" in doc["missing"]["leads"]
    assert doc["declared_by"] == ["compliance"]


def test_the_register_prints_and_is_for_compliance_staff(h: Any) -> None:
    page = h.compliance.processing_register_document()
    assert page["filename"].startswith("registre-")
    assert "Registre des catégories d&#x27;activités de traitement" in page["html"]
    assert "Journal d&#x27;audit" in page["html"]
    with pytest.raises(Forbidden):
        h.staff.processing_register()
