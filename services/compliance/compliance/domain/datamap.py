"""The data-map format every service declares in code (annex IV.14), and compliance's own.

A data map lists a service's processing activities: the categories of data, purposes,
legal basis, persons concerned, retention, recipients, security measures and transfers.
Compliance assembles the maps into the register (``compliance.domain.register``); nothing
in the register is typed by hand.

A service answers ``data_map()`` (RPC, for compliance) with ``DataMap.as_dict()``; the
JSON Schema below is the contract, and ``parse_data_map`` is what compliance checks an
answer with. (The format belongs in the common library once services declare theirs;
it lives here until then so that compliance can be built first.)
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 1
MAX_TEXT = 2000

DATA_MAP_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Suivi service data map",
    "type": "object",
    "required": ["service", "format_version", "activities"],
    "additionalProperties": False,
    "properties": {
        "service": {"type": "string", "minLength": 1, "maxLength": 40},
        "format_version": {"const": FORMAT_VERSION},
        "activities": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "role", "purposes", "legal_basis", "data_subjects",
                         "categories", "retention", "recipients", "security_measures"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                # processor: on behalf of the users (annex); controller: the platform's own
                "role": {"enum": ["processor", "controller"]},
                "purposes": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "legal_basis": {"type": "string", "minLength": 1},
                "data_subjects": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "categories": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "retention": {"type": "string", "minLength": 1},
                "recipients": {"type": "array", "items": {"type": "string"}},
                "security_measures": {"type": "array", "minItems": 1,
                                      "items": {"type": "string"}},
                "transfers_outside_eu": {"type": ["string", "null"]},
            },
        }},
    },
}


@dataclass(frozen=True)
class Activity:
    name: str
    role: str  # processor | controller
    purposes: tuple[str, ...]
    legal_basis: str
    data_subjects: tuple[str, ...]
    categories: tuple[str, ...]
    retention: str
    recipients: tuple[str, ...]
    security_measures: tuple[str, ...]
    transfers_outside_eu: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "purposes": list(self.purposes),
                "legal_basis": self.legal_basis, "data_subjects": list(self.data_subjects),
                "categories": list(self.categories), "retention": self.retention,
                "recipients": list(self.recipients),
                "security_measures": list(self.security_measures),
                "transfers_outside_eu": self.transfers_outside_eu}


@dataclass(frozen=True)
class DataMap:
    service: str
    activities: tuple[Activity, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "format_version": FORMAT_VERSION,
                "activities": [a.as_dict() for a in self.activities]}


def _texts(value: Any, where: str, minimum: int = 1) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) < minimum or not all(
            isinstance(v, str) and v.strip() and len(v) <= MAX_TEXT for v in value):
        raise ValueError(f"{where}: a list of at least {minimum} non-empty strings")
    return tuple(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise ValueError(f"{where}: a non-empty string")
    return value


def parse_data_map(data: Any) -> DataMap:
    """Check a service's answer against the schema (raises ValueError naming the field)."""
    if not isinstance(data, Mapping):
        raise ValueError("a data map is an object")
    extra = set(data) - {"service", "format_version", "activities"}
    if extra:
        raise ValueError(f"unknown fields: {', '.join(sorted(extra))}")
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format_version must be {FORMAT_VERSION}")
    service = _text(data.get("service"), "service")
    if not isinstance(data.get("activities"), list):
        raise ValueError("activities: a list")
    allowed = set(DATA_MAP_SCHEMA["properties"]["activities"]["items"]["properties"])
    activities = []
    for i, raw in enumerate(data["activities"]):
        where = f"activities[{i}]"
        if not isinstance(raw, Mapping) or set(raw) - allowed:
            raise ValueError(f"{where}: an object with the schema's fields only")
        if raw.get("role") not in ("processor", "controller"):
            raise ValueError(f"{where}.role: processor or controller")
        transfers = raw.get("transfers_outside_eu")
        if transfers is not None:
            transfers = _text(transfers, f"{where}.transfers_outside_eu")
        activities.append(Activity(
            name=_text(raw.get("name"), f"{where}.name"), role=str(raw["role"]),
            purposes=_texts(raw.get("purposes"), f"{where}.purposes"),
            legal_basis=_text(raw.get("legal_basis"), f"{where}.legal_basis"),
            data_subjects=_texts(raw.get("data_subjects"), f"{where}.data_subjects"),
            categories=_texts(raw.get("categories"), f"{where}.categories"),
            retention=_text(raw.get("retention"), f"{where}.retention"),
            recipients=_texts(raw.get("recipients"), f"{where}.recipients", minimum=0),
            security_measures=_texts(raw.get("security_measures"),
                                     f"{where}.security_measures"),
            transfers_outside_eu=transfers))
    return DataMap(service, tuple(activities))


_COMMON_SECURITY = (
    "données personnelles chiffrées au repos (AES-256-GCM, une clé par périmètre)",
    "recherches exactes par index aveugles (HMAC-SHA256), sans déchiffrement",
    "accès réservé au rôle « compliance », vérifié par la passerelle et par le service",
    "appels et événements signés entre services (HMAC-SHA256)",
)

#: Compliance's handling of data-subject requests: it concerns every person who asks
#: (so every access export lists it).
DSR_ACTIVITY = Activity(
    name="Demandes d'exercice des droits des personnes",
    role="processor",
    purposes=("aider les responsables de traitement à répondre aux demandes d'accès, de "
              "rectification, d'effacement, de limitation, d'opposition et de "
              "portabilité (RGPD art. 15 à 22 ; clauses de sous-traitance IV.8)",),
    legal_basis="contrat de sous-traitance (RGPD art. 28.3.e) et obligation légale "
                "(RGPD art. 12)",
    data_subjects=("personnes dont les données sont traitées pour le compte des "
                   "utilisateurs (prospects)", "utilisateurs de la plateforme"),
    categories=("adresse email et numéro de téléphone donnés dans la demande",
                "note de réception", "champs à rectifier",
                "comptes rendus des services (nombre d'enregistrements trouvés et traités)",
                "pour une demande d'accès ou de portabilité : les données que les services "
                "ont trouvées, réunies dans l'export"),
    retention="les identifiants sont détruits (clé de la demande effacée) dès qu'un "
              "effacement est achevé ; pour les autres demandes ils restent chiffrés avec "
              "la demande ; les données réunies pour un accès ou une portabilité sont "
              "détruites (clé effacée) à la fin de leur mise à disposition, 7 jours après "
              "l'achèvement par défaut (DSR_EXPORT_DAYS) ; le reçu ne garde que des comptes "
              "et des dates",
    recipients=("personnel de conformité de la plateforme",
                "services internes qui détiennent les données (comptes, forfaits, "
                "prospects, messagerie), pour exécuter la demande"),
    security_measures=(*_COMMON_SECURITY,
                       "les événements ne portent que des index, jamais l'adresse"))

#: What compliance itself processes (its own tables, as built in this package).
COMPLIANCE_DATA_MAP = DataMap("compliance", (
    DSR_ACTIVITY,
    Activity(
        name="Notification des violations de données",
        role="processor",
        purposes=("notifier les responsables de traitement dans les 72 heures et, sur leur "
                  "instruction, l'autorité de contrôle et les personnes (RGPD art. 33 et 34 ; "
                  "clauses IV.9)",),
        legal_basis="contrat de sous-traitance (RGPD art. 28.3.f) et obligation légale "
                    "(RGPD art. 33)",
        data_subjects=("utilisateurs de la plateforme (responsables de traitement)",),
        categories=("identifiant de l'utilisateur et de son réseau",
                    "nombres approximatifs de personnes et d'enregistrements concernés",
                    "réponse du responsable de traitement"),
        retention="conservées pour documenter la violation (RGPD art. 33.5)",
        recipients=("personnel de conformité", "responsable de traitement concerné",
                    "CNIL, sur instruction du responsable de traitement"),
        security_measures=_COMMON_SECURITY),
    Activity(
        name="Journal d'audit",
        role="controller",
        purposes=("prouver les décisions du personnel et les actions de conformité "
                  "(clauses IV.15)",),
        legal_basis="obligation de documentation (RGPD art. 5.2 et 28.3.h)",
        data_subjects=("utilisateurs et personnel de la plateforme",),
        categories=("identifiants des utilisateurs et des objets", "nature et date de "
                    "l'action ; aucun contenu libre ni donnée de contact"),
        retention="journal en ajout seul, conservé pour la durée de la plateforme",
        recipients=("personnel de conformité", "auditeurs mandatés par un responsable de "
                                               "traitement"),
        security_measures=("chaque entrée chaînée à la précédente par SHA-256 ; une "
                           "modification ou une lacune est détectée",
                           "mises à jour et suppressions refusées par la base")),
    Activity(
        name="Sous-traitants ultérieurs et oppositions",
        role="processor",
        purposes=("informer par écrit les responsables de traitement de tout changement de "
                  "sous-traitant ultérieur et recueillir leurs oppositions (clauses IV.6)",),
        legal_basis="contrat de sous-traitance (RGPD art. 28.2 et 28.4)",
        data_subjects=("utilisateurs de la plateforme (responsables de traitement)",),
        categories=("identifiant de l'utilisateur et de son réseau", "motif de l'opposition"),
        retention="pour la durée du contrat de sous-traitance",
        recipients=("personnel de conformité",),
        security_measures=_COMMON_SECURITY),
))
