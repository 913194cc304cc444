"""Compliance's own data map (annex IV.14), in the format every service declares
(``suivi_common.datamap``: the schema, ``DataMap`` and ``parse_data_map``, with which
compliance checks each service's answer before it goes into the register,
``compliance.domain.register``).
"""
from __future__ import annotations

# the format is the library's; these names stay importable here
from suivi_common.datamap import DATA_MAP_SCHEMA as DATA_MAP_SCHEMA
from suivi_common.datamap import FORMAT_VERSION as FORMAT_VERSION
from suivi_common.datamap import MAX_TEXT as MAX_TEXT
from suivi_common.datamap import Activity as Activity
from suivi_common.datamap import DataMap as DataMap
from suivi_common.datamap import parse_data_map as parse_data_map

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

BREACHES = "Notification des violations de données"
AUDIT = "Journal d'audit"
SUBPROCESSORS = "Sous-traitants ultérieurs et oppositions"
END_OF_CONTRACT = "Fin de contrat : restitution et destruction des données"

#: What compliance itself processes (its own tables, as built in this package).
COMPLIANCE_DATA_MAP = DataMap("compliance", (
    DSR_ACTIVITY,
    Activity(
        name=BREACHES,
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
        name=AUDIT,
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
        name=SUBPROCESSORS,
        role="processor",
        purposes=("informer par écrit les responsables de traitement de tout changement de "
                  "sous-traitant ultérieur et recueillir leurs oppositions (clauses IV.6)",),
        legal_basis="contrat de sous-traitance (RGPD art. 28.2 et 28.4)",
        data_subjects=("utilisateurs de la plateforme (responsables de traitement)",),
        categories=("identifiant de l'utilisateur et de son réseau", "motif de l'opposition"),
        retention="pour la durée du contrat de sous-traitance",
        recipients=("personnel de conformité",),
        security_measures=_COMMON_SECURITY),
    Activity(
        name=END_OF_CONTRACT,
        role="processor",
        purposes=("rendre à un responsable de traitement, à la fin du contrat, toutes ses "
                  "données (archive JSON, CSV et XLSX), puis en faire détruire toutes les "
                  "copies et lui remettre un certificat de destruction (clauses IV.12)",),
        legal_basis="contrat de sous-traitance (RGPD art. 28.3.g)",
        data_subjects=("utilisateurs de la plateforme (responsables de traitement)",
                       "prospects des utilisateurs, dans l'archive rendue"),
        categories=("identifiant de l'utilisateur, dates et étapes de la restitution",
                    "l'archive : fiches, notes, historique, emails, réclamations et preuves "
                    "de consentement du responsable",
                    "certificat : nombres détruits, identifiants des clés détruites, heure"),
        retention="l'archive jusqu'à la confirmation de réception par l'utilisateur, ou "
                  "END_OF_CONTRACT_SHRED_DAYS (30 jours par défaut) : sa clé est alors "
                  "détruite avec les copies des services ; le certificat reste comme preuve",
        recipients=("le responsable de traitement (téléchargement de l'archive)",
                    "personnel de conformité"),
        security_measures=(*_COMMON_SECURITY, "archive scellée sous une clé propre, "
                           "détruite à la fin (effacement cryptographique)")),
))

#: which activity each of compliance's tables serves (``suivi_common.datamap.
#: table_coverage``; ``tests/unit/test_datamap.py`` holds it to the metadata)
TABLES: dict[str, str] = {
    **dict.fromkeys(("dsr_requests", "dsr_tasks", "dsr_exports"), DSR_ACTIVITY.name),
    **dict.fromkeys(("breaches", "breach_updates", "breach_controllers", "breach_notices"),
                    BREACHES),
    **dict.fromkeys(("audit_entries", "audit_head"), AUDIT),
    **dict.fromkeys(("subprocessor_changes", "subprocessor_objections"), SUBPROCESSORS),
    "end_of_contracts": END_OF_CONTRACT,
}

#: the tables that hold no personal data, and why
NOT_PERSONAL: dict[str, str] = {
    "subprocessors": "le registre des sous-traitants ultérieurs : des sociétés, leur "
                     "activité, leur pays, leur contrat et l'adresse de contact de la "
                     "société",
}
