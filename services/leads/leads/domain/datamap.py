"""What leads processes, declared in code for the register (annex IV.14): the answer of
``leads.data_map()``, in the register's format (``suivi_common.datamap``, which compliance
reads it with: ``{service, format_version, activities: [...]}``, each activity with its
role, purposes, legal basis, persons, categories, retention, recipients and security
measures). Plain Python; the retention periods are arguments, so the register shows the
settings in force.
"""
from __future__ import annotations

from typing import Any

from suivi_common.datamap import FORMAT_VERSION

_SECURITY = [
    "données personnelles chiffrées au repos (AES-256-GCM, une clé par réseau ; le stock "
    "sous une clé de la plateforme)",
    "recherches exactes par index aveugles (HMAC-SHA256), sans déchiffrement",
    "historique des fiches en ajout seul, scellé par une clé propre à chaque fiche (effacer "
    "la fiche rend son historique illisible)",
    "appels et événements signés entre services (HMAC-SHA256)",
    "chaque utilisateur ne voit que ses fiches ; l'administrateur du réseau en lecture seule, "
    "si le membre le permet",
]
SALE = "Collecte et vente exclusive de prospects"
OFFICE = "Bureau des utilisateurs (gestion de leurs prospects)"
DOCUMENTS = "Documents de travail des utilisateurs"
REFUNDS = "Demandes de remboursement de prospects"
RIGHTS = "Droits des personnes : oppositions et violations"
SITES = "Formulaires des sites des utilisateurs : prospects et preuves du consentement"

_LEAD_CATEGORIES = [
    "nom et prénom", "adresse email", "numéros de téléphone fixe et mobile",
    "période pour être joint", "code postal, ville et pays", "situation professionnelle",
    "temps disponible", "date de naissance", "objectifs de revenus",
    "source de l'inscription (URL du formulaire, date du consentement, adresse IP)",
]


def data_map(office_months: int, unsold_months: int, freshness_days: int,
             duplicate_days: int) -> dict[str, Any]:
    """The leads service's data map (``DataMap.as_dict()`` of the register's format)."""
    return {"service": "leads", "format_version": FORMAT_VERSION, "activities": [
        {
            "name": SALE,
            "role": "controller",
            "purposes": [
                "recevoir les prospects des formulaires partenaires, les qualifier, écarter "
                "les doublons et les vendre à un seul utilisateur",
            ],
            "legal_basis": "consentement recueilli par le formulaire de capture (date et "
                           "source conservées comme preuve, RGPD art. 6.1.a et 7.1)",
            "data_subjects": ["prospects inscrits sur un formulaire partenaire",
                              "utilisateurs acheteurs"],
            "categories": [*_LEAD_CATEGORIES,
                           "pour chaque vente : l'utilisateur acheteur, son forfait et le "
                           "jour (livraisons, droits ouverts par le forfait, comptes du jour)"],
            "retention": f"retiré de la vente après {freshness_days} jours ; un prospect "
                         f"jamais vendu est effacé {unsold_months} mois après sa capture ; "
                         f"l'index de doublon (index aveugle, sans adresse) sert "
                         f"{duplicate_days} jours ; la limite de débit des formulaires ne "
                         f"compte l'adresse IP source que par empreinte HMAC, et seulement "
                         f"pendant la fenêtre en cours (une minute par défaut)",
            "recipients": ["l'utilisateur acheteur (un seul par prospect)",
                           "personnel de la plateforme (qualité du stock)"],
            "security_measures": _SECURITY,
            "transfers_outside_eu": None,
        },
        {
            "name": OFFICE,
            "role": "processor",
            "purposes": [
                "tenir pour l'utilisateur ses fiches de prospects achetés ou saisis : suivi "
                "commercial, notes d'appel, historique, exports, envoi d'emails",
            ],
            "legal_basis": "contrat de sous-traitance avec l'utilisateur, responsable de "
                           "traitement (RGPD art. 28 ; conditions d'utilisation, art. 3.B)",
            "data_subjects": ["prospects de l'utilisateur"],
            "categories": [*_LEAD_CATEGORIES,
                           "commentaires écrits lors des contacts téléphoniques",
                           "historique des modifications et des emails envoyés (objets)",
                           "fin de contrat : identifiant de l'utilisateur, nombres "
                           "d'enregistrements détruits et identifiants des clés détruites"],
            "retention": "tant que le bureau est ouvert, ou jusqu'à suppression par "
                         f"l'utilisateur ; effacé {office_months} mois après la fin du "
                         "bureau (conditions 3.B.v) ; à la fin du contrat, rendu puis "
                         "détruit (clé du responsable détruite), seule la trace de la "
                         "destruction (identifiants et nombres) restant comme certificat",
            "recipients": ["l'utilisateur propriétaire de la fiche",
                           "l'administrateur de son réseau, en lecture, si le membre le permet",
                           "service d'envoi d'emails de la plateforme"],
            "security_measures": _SECURITY,
            "transfers_outside_eu": None,
        },
        {
            "name": DOCUMENTS,
            "role": "processor",
            "purposes": [
                "héberger et sauvegarder les documents de travail que l'utilisateur dépose "
                "dans son bureau (conditions 3.A), et les montrer à l'administrateur de son "
                "réseau s'il les partage et le permet (art. 5)",
            ],
            "legal_basis": "contrat de sous-traitance avec l'utilisateur, responsable de "
                           "traitement (RGPD art. 28 ; conditions d'utilisation, art. 3.A)",
            "data_subjects": ["personnes citées dans les documents de l'utilisateur"],
            "categories": ["contenu des documents déposés (PDF, images, bureautique, texte) "
                           "et leur nom"],
            "retention": "jusqu'à suppression par l'utilisateur ; supprimés "
                         f"{office_months} mois après la fin du bureau, ou à la fin du "
                         "contrat (clé du responsable détruite)",
            "recipients": ["l'utilisateur propriétaire",
                           "l'administrateur de son réseau, pour les documents partagés, "
                           "si le membre le permet"],
            "security_measures": [*_SECURITY[:1], "nom et contenu scellés sous la clé propre "
                                  "de l'utilisateur (AES-256-GCM)", *_SECURITY[3:]],
            "transfers_outside_eu": None,
        },
        {
            "name": REFUNDS,
            "role": "processor",
            "purposes": [
                "vérifier une demande de remboursement (contrôles de l'adresse, du numéro et "
                "du délai) et la faire décider par le personnel (conditions 8.B)",
            ],
            "legal_basis": "contrat avec l'utilisateur (conditions d'utilisation, art. 8)",
            "data_subjects": ["prospects objets d'une demande"],
            "categories": ["résultat des contrôles", "commentaire de l'utilisateur"],
            "retention": "avec la fiche ; effacé avec elle",
            "recipients": ["personnel de la plateforme chargé des remboursements"],
            "security_measures": _SECURITY,
            "transfers_outside_eu": None,
        },
        {
            "name": SITES,
            "role": "processor",
            "purposes": [
                "déposer dans le Bureau du membre, comme prospect personnel (origine "
                "« site »), ce qu'un visiteur envoie par le formulaire de son site produit, "
                "de son site plaquette ou de sa boutique (demande de commande : produits et "
                "quantités en note), sans doublon (conditions 3.A ; outils 5 et 6)",
                "garder la preuve du consentement du visiteur : le texte exact de la "
                "mention d'information montrée, sa version, la page, le type de site, "
                "l'adresse du site et l'heure (RGPD art. 7.1 ; clauses IV.7)",
            ],
            "legal_basis": "contrat de sous-traitance avec le membre, responsable de "
                           "traitement (RGPD art. 28) ; pour lui, le consentement du visiteur "
                           "(art. 6.1.a), dont la preuve est gardée (art. 7.1)",
            "data_subjects": ["visiteurs des sites et boutiques des membres qui envoient "
                              "un formulaire"],
            "categories": ["nom et prénom, adresse email, mobile, code postal, ville et pays "
                           "(la fiche du Bureau)",
                           "adresse du site, heure de l'envoi et adresse IP (source de la "
                           "fiche)", "produits et quantités d'une demande de commande",
                           "preuve du consentement : texte et version de la mention, page, "
                           "type de site, heure, envoi répété d'une même personne",
                           "limite de débit des formulaires : empreinte HMAC de l'adresse IP, "
                           "pendant la fenêtre en cours seulement"],
            "retention": "la fiche comme toute fiche du Bureau (voir « Bureau des "
                         "utilisateurs ») ; la preuve du consentement tant que la fiche "
                         "qu'elle prouve garde ses données : supprimée à l'effacement "
                         "demandé par la personne, et par la purge horaire dès que la fiche "
                         "est supprimée par son propriétaire ou effacée "
                         f"{office_months} mois après la fin du bureau (conditions 3.B.v) ; "
                         "au-delà, c'est au responsable de traitement de garder sa preuve "
                         "pendant la prescription : elle figure dans la fiche qu'il consulte "
                         "et dans l'archive rendue à la fin du contrat",
            "recipients": ["l'utilisateur propriétaire de la fiche",
                           "l'administrateur de son réseau, en lecture, si le membre le permet",
                           "service de conformité (demande d'accès de la personne)"],
            "security_measures": [*_SECURITY,
                                  "formulaire signé (heure, page et empreinte de la mention "
                                  "montrée), champ piège, délai minimal de saisie et limite "
                                  "par adresse IP",
                                  "pages sans script ni ressource tierce"],
            "transfers_outside_eu": None,
        },
        {
            "name": RIGHTS,
            "role": "processor",
            "purposes": [
                "exécuter les demandes des personnes (accès, rectification, effacement, "
                "limitation, opposition, portabilité) et honorer une opposition dans la "
                "durée ; notifier les personnes d'une violation sur instruction du "
                "responsable de traitement (RGPD art. 15 à 22 et 34)",
            ],
            "legal_basis": "obligation légale et contrat de sous-traitance (RGPD art. 28.3.e "
                           "et 28.3.f)",
            "data_subjects": ["prospects ayant exercé un droit"],
            "categories": ["index aveugle de l'adresse email ou du numéro (opposition)",
                           "identifiants de la demande et de la violation"],
            "retention": "l'index d'opposition est conservé pour que l'opposition reste "
                         "respectée, même après un effacement",
            "recipients": ["service de conformité de la plateforme"],
            "security_measures": _SECURITY,
            "transfers_outside_eu": None,
        },
    ]}


#: which activity each table of ``leads.models`` serves (``suivi_common.datamap.
#: table_coverage``; ``tests/unit/test_datamap.py`` holds it to the metadata)
TABLES: dict[str, str] = {
    **dict.fromkeys(("leads", "contacts", "stock", "capture_rate_windows", "deliveries",
                     "entitlements", "plan_days", "day_closes"), SALE),
    **dict.fromkeys(("office_leads", "office_history", "office_notes", "office_emails",
                     "office_exports", "office_export_chunks", "office_pipelines", "offices",
                     "member_permissions", "stale_reminders", "controller_shreds"), OFFICE),
    **dict.fromkeys(("office_documents", "office_document_usage"), DOCUMENTS),
    "refund_claims": REFUNDS,
    **dict.fromkeys(("subject_tasks", "subject_objections", "breach_subject_notices"), RIGHTS),
    "site_consents": SITES,
}

#: the tables that hold no personal data, and why
NOT_PERSONAL: dict[str, str] = {
    "capture_sites": "les formulaires partenaires : nom, adresse, empreinte de leur clé",
    "day_settlements": "le règlement de chaque jour de distribution, en nombres",
    "group_days": "les quotas par pays et formule de chaque jour, en nombres",
    "stock_alerts": "les alertes de stock par pays et formule, en nombres",
    "stale_reminder_runs": "les passages mensuels du rappel des fiches inactives, en nombres",
}
