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
