"""What plans stores and why, declared for the register (annex IV.14): the answer of
``data_map()``, in the register's format (``suivi_common.datamap``, format 1).
Written from ``plans.models`` and the use cases: change it with them.

Plans deals with the platform's own customers (the users who buy lead plans): the
platform is the controller. It holds no prospect and no contact data.
"""
from __future__ import annotations

from typing import Any

from suivi_common.datamap import Activity, DataMap, controller

SERVICE = "plans"

_USERS = "utilisateurs de la plateforme (distributeurs indépendants, administrateurs de réseau)"
_SIGNED = "appels et événements entre services signés (HMAC-SHA256), réservés aux services"
_IDS_ONLY = ("aucune donnée de contact : l'utilisateur n'est connu que par son identifiant "
             "(le service des comptes garde son nom et son adresse)")

PLANS = "Forfaits de leads : commandes, quotas et livraisons"
ABSENCES = "Absences et force majeure"
REQUESTS = "Exécution des demandes des personnes concernées"

ACTIVITIES: tuple[Activity, ...] = (
    controller(
        PLANS,
        ("vendre les forfaits de leads et leurs prolongations, en calculer le prix (CGU "
         "art. 3.B.iii, 6)", "calculer chaque jour le quota dû à chaque forfait, arrêter "
         "les comptes du jour avec le service des prospects, créditer les leads remboursés "
         "(CGU art. 8.B)", "prévoir la demande de leads (comptes agrégés, sans personne)"),
        "exécution du contrat (RGPD art. 6.1.b) ; obligation légale comptable (art. 6.1.c ; "
        "Code de commerce art. L123-22)",
        (_USERS,),
        ("identifiants de l'utilisateur et de son réseau", "forfait : niveau, pays, "
         "nombre de leads commandés et restants, prix unitaire et total, moyen et "
         "identifiant du paiement, dates, jours bloqués", "prolongations : leads, prix, "
         "crédit appliqué, paiement", "totaux quotidiens : leads pris, manque, forfaits",
         "crédits de remboursement : identifiants de la réclamation et du lead",
         "fermetures des ventes : l'identifiant du membre du personnel qui les a "
         "déclarées"),
        "pièces de la commande et de sa comptabilité : dix ans (Code de commerce art. "
        "L123-22) ; une demande d'effacement ne les supprime pas (RGPD art. 17.3.b) ; "
        "aucune purge automatique n'existe encore au terme de ces dix ans",
        ("l'utilisateur lui-même", "le personnel de la plateforme", "le service interne "
         "des prospects (état du forfait et quotas, par identifiant)", "le service interne "
         "des comptes (demande de paiement de la commande)", "le service interne de "
         "messagerie (avis de prolongation, par identifiant)"),
        (_SIGNED, _IDS_ONLY)),
    controller(
        ABSENCES,
        ("suspendre un forfait pendant une absence prévue et prolonger un forfait après un "
         "cas de force majeure, sur décision du personnel (CGU art. 3.B.iii)",),
        "exécution du contrat (RGPD art. 6.1.b)",
        (_USERS,),
        ("dates de l'absence, nature (prévue ou force majeure) et catégorie du motif",
         "description libre et justificatif (PDF, JPEG ou PNG) de la force majeure, qui "
         "peuvent révéler des données de santé ou de vie familiale",
         "décision du personnel, son commentaire, leads restitués"),
        "avec le forfait ; à l'effacement, la description, le justificatif et le "
        "commentaire sont supprimés, les dates et la décision restent (elles ont changé "
        "ce que le forfait devait) ; à la limitation, description et justificatif ne sont "
        "plus montrés au personnel",
        ("l'utilisateur lui-même", "le personnel de la plateforme qui décide",
         "le service de conformité (décisions pour le journal d'audit, sans la description, "
         "le justificatif ni le commentaire)", "le service interne de messagerie (avis de "
         "la décision à l'utilisateur, avec le commentaire du personnel)"),
        ("description et justificatif chiffrés au repos (AES-256-GCM) sous la clé du "
         "réseau de l'utilisateur", "type du justificatif lu dans son contenu, taille "
         "bornée", _SIGNED)),
    controller(
        REQUESTS,
        ("exécuter, pour les forfaits et les absences, les demandes d'accès, "
         "d'effacement, de limitation, d'opposition et de portabilité (RGPD art. 15 à 22)",),
        "obligation légale (RGPD art. 6.1.c et art. 12)",
        (_USERS,),
        ("identifiant de la demande et des utilisateurs trouvés, nature, date, nombre "
         "d'enregistrements traités",),
        "la trace de chaque demande (identifiants et nombres) pour la durée de la "
        "plateforme",
        ("le service de conformité (compte rendu ; les données d'une demande d'accès lui "
         "sont remises pour la réponse à la personne)", "le service interne des comptes "
         "(qui dit quels utilisateurs la demande désigne)"),
        (_SIGNED, "la personne est désignée par le service des comptes, une fois par "
         "demande ; une demande ambiguë n'est exécutée sur personne")),
)


#: which activity each table of ``plans.models`` serves (``suivi_common.datamap.
#: table_coverage``; ``tests/unit/test_data_map.py`` holds it to the metadata)
TABLES: dict[str, str] = {
    **dict.fromkeys(("plans", "extensions", "day_reports", "refund_credits",
                     "sales_closures"), PLANS),
    "absences": ABSENCES,
    "subject_requests": REQUESTS,
}

#: the tables that hold no personal data, and why (none: every table names a user)
NOT_PERSONAL: dict[str, str] = {}


def data_map() -> dict[str, Any]:
    """``DataMap.as_dict()`` of plans: a fresh copy."""
    return DataMap(SERVICE, ACTIVITIES).as_dict()
