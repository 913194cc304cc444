"""The register of processing activities (GDPR art. 30.2; annex IV.14), generated from
what the services declare, never kept by hand: the processor and its DPO, the controllers
it acts for, the processing it does on their behalf (annex II), every service's declared
activities, the sub-processors and the security measures (annex IV.11)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from compliance.domain.categories import DATA_CATEGORIES
from compliance.domain.datamap import DataMap

#: Annex II of the terms: what is processed on behalf of each controller.
PROCESSING_ON_BEHALF = {
    "purpose": "la recherche de nouveaux partenaires professionnels ou de nouveaux clients de "
               "produits ou services vendus directement par le responsable du traitement",
    "operations": ["consultation", "modification", "import/export", "copies temporaires",
                   "sauvegarde/restauration", "réplication", "récupération"],
    "data_categories": list(DATA_CATEGORIES.values()),
}
#: Annex IV.11 of the terms.
SECURITY_MEASURES = [
    "le chiffrement des données à caractère personnel",
    "systèmes de pare-feux permettant de garantir la confidentialité, l'intégrité, la "
    "disponibilité et la résilience constantes des systèmes et des services de traitement",
    "sauvegardes multiples permettant de rétablir la disponibilité des données à caractère "
    "personnel et l'accès à celles-ci dans des délais appropriés en cas d'incident physique "
    "ou technique",
]
CONTROLLERS = ("chaque utilisateur de la plateforme (distributeur indépendant) est "
               "responsable du traitement des données de ses prospects ; la plateforme est "
               "son sous-traitant")


def activities_of(maps: Iterable[DataMap]) -> list[dict[str, Any]]:
    """Every declared activity, as the register lists it (with the declaring service)."""
    return [{"service": m.service, **a.as_dict()} for m in maps for a in m.activities]


def assemble(processor: str, dpo: Mapping[str, Any], maps: Iterable[DataMap],
             missing: Mapping[str, str], subprocessors: list[dict[str, Any]],
             controllers: Mapping[str, Any] | None, generated_at: datetime) -> dict[str, Any]:
    """One JSON document; ``missing``: services whose map could not be had, and why."""
    activities = activities_of(maps)
    gaps = dict(missing)
    if not (dpo.get("name") or dpo.get("email")):
        gaps["dpo"] = "DPO_NAME and DPO_EMAIL are not set"
    return {
        "generated_at": generated_at.isoformat(),
        "processor": {"name": processor, "dpo": dict(dpo)},
        "controllers": dict(controllers) if controllers is not None
        else {"description": CONTROLLERS},
        "processing_on_behalf_of_controllers": PROCESSING_ON_BEHALF,
        "activities": activities,
        "subprocessors": subprocessors,
        "security_measures": SECURITY_MEASURES,
        "declared_by": sorted({m.service for m in maps}),
        "missing": gaps,
    }
