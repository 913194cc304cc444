"""What the mailer processes, declared in code for the register (annex IV.14): the answer of
``mailer.data_map()``, in the register's data-map format (``suivi_common.datamap``,
``DATA_MAP_SCHEMA``, format 1): the format is the contract, and the mailer's tests check
this map with the schema and the parser compliance reads it with.

Keep it in step with ``mailer.models`` and ``mailer.google.tables``: a new table of
personal data, a new recipient or a new retention rule belongs here too.
"""
from __future__ import annotations

from typing import Any

SERVICE = "mailer"
FORMAT_VERSION = 1

_SECURITY = (
    "données personnelles chiffrées au repos (AES-256-GCM, une clé par réseau, chaque "
    "valeur liée à sa table, sa colonne et sa ligne)",
    "recherches exactes par index aveugles (HMAC-SHA256), sans déchiffrement",
    "appels et événements signés entre services (HMAC-SHA256) ; aucune adresse dans les "
    "événements",
    "envoi SMTP authentifié et chiffré (STARTTLS) en production",
)

LEAD_EMAILS = "Emails des utilisateurs à leurs prospects (bureau et automatisations)"
OPPOSITIONS = "Listes d'opposition des prospects"
SYSTEM_EMAILS = "Emails système aux utilisateurs"
GMAIL = "Liaison d'un compte Gmail"

_ACTIVITIES: tuple[dict[str, Any], ...] = (
    {
        "name": LEAD_EMAILS,
        "role": "processor",
        "purposes": [
            "envoyer, pour le compte de l'utilisateur, les emails qu'il écrit depuis son bureau "
            "ou que ses automatisations déclenchent quand un prospect change de statut",
            "tenir l'historique des emails envoyés à chaque prospect (bureau, export, "
            "demandes d'accès)",
            "communiquer aux prospects concernés une violation de données que l'utilisateur "
            "a approuvé de leur notifier (RGPD art. 34)",
        ],
        "legal_basis": "contrat de sous-traitance (RGPD art. 28) : instructions de "
                       "l'utilisateur, responsable de traitement",
        "data_subjects": ["prospects des utilisateurs (leads)"],
        "categories": [
            "adresse email du prospect",
            "objet et contenu des emails (prénom, nom, ville du prospect selon le modèle)",
            "statut, dates d'envoi, canal (SMTP ou Gmail) et identifiant Message-ID",
            "index aveugle de l'adresse par utilisateur",
        ],
        "retention": "jusqu'à l'effacement du prospect (l'historique est supprimé avec lui) ; "
                     "après une demande d'effacement de la personne, une trace sans adresse "
                     "ni contenu (identifiants, statut, dates) ; à la fin du contrat de "
                     "l'utilisateur, détruit avec sa clé",
        "recipients": [
            "l'utilisateur qui a envoyé l'email (son bureau)",
            "le serveur SMTP de la plateforme",
            "Google (API Gmail), quand l'utilisateur a relié son compte Gmail",
        ],
        "security_measures": [
            *_SECURITY,
            "adresse, objet et contenu chiffrés sous la clé propre à l'utilisateur (sous "
            "celle du réseau), détruite à la fin de son contrat (effacement cryptographique)",
            "lien de désinscription personnel dans chaque email (RFC 8058)",
            "un email par ligne, envoyé une seule fois (réservation conditionnelle)",
        ],
        "transfers_outside_eu": "possible vers Google LLC (États-Unis) pour les emails envoyés "
                                "par Gmail, selon le contrat de l'utilisateur avec Google",
    },
    {
        "name": OPPOSITIONS,
        "role": "processor",
        "purposes": [
            "respecter l'opposition d'un prospect aux emails d'un utilisateur (RGPD art. 21), "
            "y compris après l'effacement du prospect",
        ],
        "legal_basis": "contrat de sous-traitance (RGPD art. 28) et obligation légale "
                       "(RGPD art. 21)",
        "data_subjects": ["prospects des utilisateurs qui se sont opposés aux emails"],
        "categories": ["index aveugle de l'adresse email par utilisateur (aucune adresse en "
                       "clair)", "date de l'opposition"],
        "retention": "pour la durée du contrat de l'utilisateur",
        "recipients": [],
        "security_measures": list(_SECURITY[1:3]),
        "transfers_outside_eu": None,
    },
    {
        "name": SYSTEM_EMAILS,
        "role": "controller",
        "purposes": [
            "invitations et réinitialisations du mot de passe, confirmation d'une nouvelle "
            "adresse email et avis de son changement à l'ancienne, évolution des conditions "
            "d'utilisation, avis de paiement, de remboursement, d'absence, de fin "
            "d'abonnement et de prolongation",
            "notifier les responsables de traitement des violations de données et des "
            "changements de sous-traitants ultérieurs (clauses IV.6 et IV.9)",
        ],
        "legal_basis": "exécution du contrat (RGPD art. 6.1.b) ; obligations de sous-traitant "
                       "(RGPD art. 28.2 et 33.2) pour les avis de conformité",
        "data_subjects": ["utilisateurs de la plateforme"],
        "categories": [
            "identifiant de l'utilisateur, nature de l'email, date et Message-ID (le registre "
            "des envois ne garde ni adresse, ni nom, ni lien)",
            "adresse email et prénom, demandés au service des comptes au moment de l'envoi",
        ],
        "retention": "registre des envois conservé pour la durée du compte",
        "recipients": ["le serveur SMTP de la plateforme"],
        "security_measures": [
            *_SECURITY[2:],
            "lien de mot de passe jamais dans un événement : demandé au service des comptes "
            "à l'envoi",
        ],
        "transfers_outside_eu": None,
    },
    {
        "name": GMAIL,
        "role": "controller",
        "purposes": ["envoyer les emails de l'utilisateur à ses prospects depuis sa propre "
                     "adresse Gmail, à sa demande"],
        "legal_basis": "exécution du contrat, à la demande de l'utilisateur (RGPD art. 6.1.b)",
        "data_subjects": ["utilisateurs de la plateforme qui relient leur compte Gmail"],
        "categories": ["adresse Google vérifiée", "date de liaison",
                       "jetons d'accès gardés en mémoire seulement, jamais enregistrés"],
        "retention": "jusqu'à ce que l'utilisateur délie son compte (les jetons sont alors "
                     "révoqués chez Google)",
        "recipients": ["Google (OAuth et API Gmail)"],
        "security_measures": [
            _SECURITY[0],
            "autorisation OAuth avec PKCE (S256), état à usage unique lié à la session",
            "jetons jamais écrits en base, dans un journal ou un événement",
        ],
        "transfers_outside_eu": "Google LLC (États-Unis), selon le contrat de l'utilisateur "
                                "avec Google",
    },
)


def data_map() -> dict[str, Any]:
    """The mailer's data map (a fresh copy: callers may change it)."""
    return {"service": SERVICE, "format_version": FORMAT_VERSION,
            "activities": [{**a, **{k: list(v) for k, v in a.items() if isinstance(v, list)}}
                           for a in _ACTIVITIES]}


#: which activity each table of ``mailer.models`` serves (``suivi_common.datamap.
#: table_coverage``; ``tests/unit/test_datamap.py`` holds it to the metadata)
TABLES: dict[str, str] = {
    **dict.fromkeys(("lead_emails", "lead_status_seen", "automation_pauses",
                     "controller_shreds"), LEAD_EMAILS),
    "email_oppositions": OPPOSITIONS,
    **dict.fromkeys(("sent_emails", "notice_recipients"), SYSTEM_EMAILS),
    **dict.fromkeys(("google_links", "google_authorizations"), GMAIL),
}

#: the tables that hold no personal data, and why
NOT_PERSONAL: dict[str, str] = {
    "mail_networks": "le réseau : son nom et la date de ses modèles par défaut",
    "email_templates": "les modèles d'emails du réseau (les noms n'y sont que des "
                       "champs à remplir à l'envoi)",
    "automations": "les règles d'envoi automatique du réseau",
    "dsr_tasks": "la trace des demandes des personnes : identifiant de la demande, nature "
                 "et nombres, sans personne",
    "subprocessor_notices": "le texte des avis de changement de sous-traitant",
}
