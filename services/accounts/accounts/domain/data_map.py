"""What accounts stores and why, declared for the register (annex IV.14): the answer of
``data_map()``, in the register's format (``suivi_common.datamap``, format 1).
It is written from ``accounts.models`` and the use cases: change it with them.

For its own users (the distributors and network admins who buy the service) the
platform is the controller; it holds no prospect here.
"""
from __future__ import annotations

from typing import Any

from suivi_common.datamap import Activity, DataMap, controller

SERVICE = "accounts"

_USERS = "utilisateurs de la plateforme (distributeurs indépendants, administrateurs de réseau)"
_STAFF = "personnel de la plateforme (rôles staff et compliance)"
_ENCRYPTED = ("données personnelles chiffrées au repos (AES-256-GCM), une clé par réseau "
              "(une clé de plateforme pour le personnel) : détruire la clé d'un réseau rend "
              "illisibles toutes ses données")
_BLIND = ("recherches exactes (email, téléphone, compteurs de connexion) par index aveugles "
          "HMAC-SHA256, sans déchiffrer")
_SIGNED = "appels et événements entre services signés (HMAC-SHA256), réservés aux services"

ACCOUNTS = "Comptes utilisateurs et authentification"
TERMS = "Acceptation des conditions générales"
BILLING = "Abonnements et paiements"
OPENINGS = "Ouvertures du Bureau d'un membre par l'administrateur"
SITES = "Sites des membres et boutiques du réseau"
REQUESTS = "Exécution des demandes des personnes concernées"


ACTIVITIES: tuple[Activity, ...] = (
    controller(
        ACCOUNTS,
        ("ouvrir et gérer les comptes des membres d'un réseau et du personnel (CGU art. 1, "
         "2, 3.A, 4.A)", "authentifier les utilisateurs et protéger les comptes (sessions, "
         "limitation des tentatives de connexion, liens de choix du mot de passe)",
         "montrer à l'administrateur du réseau le profil d'un membre, sauf refus du membre "
         "(CGU art. 5)"),
        "exécution du contrat (RGPD art. 6.1.b) ; intérêt légitime pour la sécurité des "
        "comptes (art. 6.1.f)",
        (_USERS, _STAFF),
        ("adresse email", "prénom et nom", "téléphone", "adresse postale",
         "rôle, réseau, statut du compte, niveau d'accès, choix de confidentialité",
         "empreinte du mot de passe (argon2id), jamais le mot de passe",
         "sessions : dates de création, de dernière utilisation et d'expiration, adresse "
         "IP et navigateur (user agent) de la connexion (le jeton n'est gardé que haché)",
         "échecs de connexion : index aveugles de l'email et de l'adresse IP, et l'heure",
         "second facteur (TOTP) : le secret (chiffré), le dernier pas de temps utilisé, "
         "les codes de secours (empreintes HMAC seulement) et les défis de connexion en "
         "cours (empreinte, cinq minutes)",
         "liens de choix du mot de passe et de confirmation d'une nouvelle adresse email : "
         "empreinte du jeton, dates, la nouvelle adresse (chiffrée)",
         "dates d'invitation, de conclusion du contrat, de dernière connexion",
         "invitations, par l'administrateur d'un réseau, d'une adresse déjà inscrite dans "
         "un autre réseau (aucun compte créé, rien envoyé) : index aveugle de l'adresse, "
         "l'adresse et les noms saisis (chiffrés sous la clé du réseau), la date",
         "modèles de statistiques du réseau (outil 3) : l'identifiant de l'administrateur "
         "qui les a créés"),
        "pendant la vie du compte, puis douze mois après la fin du dernier abonnement ou "
        "du compte (CGU art. 10 ; réglage ACCOUNT_RETENTION_MONTHS), sauf commande en "
        "attente de paiement, remboursement dû, compte suspendu, réseau encore administré "
        "ou forfait en cours : le compte est alors effacé comme sur demande ; les échecs "
        "de connexion sont supprimés après la fenêtre "
        "de limitation (une heure par défaut) ; à l'effacement d'un compte, l'email, le "
        "téléphone, le mot de passe, le second facteur, les sessions, les liens et les "
        "invitations de son adresse par d'autres réseaux sont supprimés (le nom et "
        "l'adresse postale seulement s'il n'y a rien à facturer, voir l'activité "
        "« Abonnements et paiements »)",
        ("l'utilisateur lui-même", "l'administrateur de son réseau (profil, sauf refus)",
         "le personnel de la plateforme", "le service de messagerie interne, pour écrire "
         "à l'utilisateur (adresse et prénom demandés au moment de l'envoi)",
         "les services internes forfaits et prospects, par identifiant seulement"),
        (_ENCRYPTED, _BLIND, _SIGNED, "mots de passe hachés avec argon2id",
         "jetons de session et de lien gardés seulement hachés (SHA-256)")),
    controller(
        TERMS,
        ("prouver quelle version des conditions chaque utilisateur a acceptée, et quand",),
        "exécution du contrat (RGPD art. 6.1.b) et constatation de droits en justice",
        (_USERS,),
        ("version acceptée et date", "adresse IP au moment de l'acceptation"),
        "pendant la vie du compte (effacé douze mois après la fin de la relation, voir "
        "« Comptes utilisateurs ») ; à l'effacement, l'adresse IP est supprimée, la version "
        "et la date restent comme preuve du contrat",
        ("le personnel de la plateforme",),
        (_ENCRYPTED, _SIGNED)),
    controller(
        BILLING,
        ("vendre et gérer les abonnements au Bureau en ligne (CGU art. 3.A, 6, 10)",
         "encaisser et suivre les paiements des abonnements et des forfaits (carte, "
         "virement, chèque), les remboursements dus, le droit de rétractation",
         "tenir la comptabilité et établir les factures"),
        "exécution du contrat (RGPD art. 6.1.b) ; obligation légale comptable et fiscale "
        "(art. 6.1.c ; Code de commerce art. L123-22 et L441-9)",
        (_USERS,),
        ("abonnements : formule, montant, dates, statut, motif de fin",
         "paiements : montant, moyen, statut, description de la commande, référence du "
         "prestataire de paiement, remboursement dû",
         "après l'effacement d'un compte qui a payé : prénom, nom et adresse postale, pour "
         "les factures seulement"),
        "pièces comptables : dix ans (Code de commerce art. L123-22), l'effacement d'un "
        "compte ne les supprime pas (RGPD art. 17.3.b) ; le nom et l'adresse d'un compte "
        "effacé sont supprimés dix ans après son dernier paiement ; aucune purge "
        "automatique des paiements eux-mêmes n'existe encore au terme de ces dix ans",
        ("l'utilisateur lui-même", "le personnel de la plateforme (validation des "
         "virements et chèques)", "le prestataire de paiement par carte (montant, "
         "référence et description de la commande ; aucune donnée de carte n'est reçue "
         "ni gardée par la plateforme)", "le service interne forfaits (paiement validé "
         "d'un forfait, par identifiant)"),
        (_ENCRYPTED, _SIGNED, "résultats du prestataire de carte vérifiés par signature "
         "(HMAC-SHA256)")),
    controller(
        "Rappels de fin d'abonnement",
        ("prévenir l'utilisateur quelques jours avant la fin de son abonnement (une fois "
         "par abonnement, sauf renouvellement déjà payé)",),
        "intérêt légitime (RGPD art. 6.1.f) : éviter la fermeture inattendue du Bureau ; "
        "l'opposition ou la limitation l'arrête",
        (_USERS,),
        ("identifiants de l'utilisateur, de son réseau et de l'abonnement", "date de fin"),
        "la marque « rappel envoyé » reste avec l'abonnement",
        ("le service de messagerie interne, qui envoie le rappel",),
        (_SIGNED, "l'événement ne porte que des identifiants et une date, jamais l'adresse")),
    controller(
        OPENINGS,
        ("tracer chaque consultation du Bureau d'un membre par l'administrateur de son "
         "réseau (CGU art. 5 ; journal d'audit, clauses IV.15)",),
        "intérêt légitime (RGPD art. 6.1.f) et obligation de documentation (art. 5.2)",
        (_USERS,),
        ("identifiants de l'administrateur, du membre et du réseau", "heure de l'ouverture"),
        "seule l'ouverture en cours de chaque paire administrateur-membre est gardée ici "
        "(supprimée à l'effacement de l'un ou l'autre) ; le journal d'audit est celui du "
        "service de conformité",
        ("le service de conformité (journal d'audit)",),
        (_SIGNED, "aucune donnée de contact : des identifiants et une heure")),
    controller(
        SITES,
        ("publier, à l'adresse de la plateforme, les sites de chaque membre (site produit "
         "du bureau distribution, site plaquette du bureau construction, boutique du réseau) "
         "avec les coordonnées que le membre choisit de montrer (CGU art. 3.A ; outils 5 "
         "et 6 de l'administrateur)",
         "tracer qui a modifié quelle partie d'une page et quand, car la responsabilité de "
         "cette partie passe au membre qui l'a modifiée (CGU art. 11), et permettre à "
         "l'administrateur de la voir et de la rétablir"),
        "exécution du contrat (RGPD art. 6.1.b ; CGU art. 3.A) ; intérêt légitime à "
        "établir qui répond de chaque partie d'un site (art. 6.1.f ; CGU art. 11)",
        (_USERS,),
        ("adresse des sites (« slug » formé du nom du membre et d'un suffixe aléatoire)",
         "nom, téléphone et email du membre, montrés au public selon ses réglages (lus dans "
         "son compte à chaque affichage, jamais copiés) ; ses réglages d'affichage",
         "photo du membre (image redimensionnée et réencodée, sans métadonnées)",
         "parties de page modifiées par un membre : leur contenu, l'identifiant de qui les "
         "a modifiées et la date",
         "modèles de pages, images et produits de la boutique : l'identifiant de "
         "l'administrateur qui les a créés ou déposés, les dates"),
        "pendant la vie du compte ; les sites ne sont publiés que tant que le Bureau est "
        "ouvert (sinon réponse 410 sans aucun nom) ; à l'effacement du compte (sur demande "
        "ou douze mois après la fin de la relation, voir « Comptes utilisateurs »), sa "
        "photo, ses réglages et ses parties modifiées sont supprimés et l'adresse des sites "
        "effacée ; l'administrateur rétablit une partie modifiée en la supprimant ; les "
        "modèles, images et produits du réseau restent avec le réseau, avec l'identifiant "
        "de leur auteur",
        ("les visiteurs des sites (le public) : les coordonnées et la photo que le membre "
         "choisit de montrer", "l'administrateur du réseau (les parties modifiées, qui les "
         "a modifiées et quand)", "le membre lui-même"),
        (_SIGNED, "texte enrichi nettoyé à l'enregistrement (nh3), images vérifiées par "
         "leur contenu et réencodées", "pages sans script ni ressource tierce (politique de "
         "sécurité du contenu stricte) : aucun traceur ne voit les visiteurs",
         "les formulaires des sites ne déposent rien ici : ce qu'un visiteur envoie va au "
         "Bureau du membre (service prospects)")),
    controller(
        REQUESTS,
        ("exécuter, pour les comptes, les demandes d'accès, de rectification, "
         "d'effacement, de limitation, d'opposition et de portabilité (RGPD art. 15 à 22)",),
        "obligation légale (RGPD art. 6.1.c et art. 12)",
        (_USERS, _STAFF),
        ("identifiant de la demande et des comptes trouvés, dates, nombres "
         "d'enregistrements traités", "historique des rectifications : champ, date, "
         "ancienne valeur"),
        "la trace de chaque demande (identifiants et nombres) pour la durée de la "
        "plateforme ; l'historique des rectifications avec le compte, supprimé à son "
        "effacement",
        ("le service de conformité (compte rendu ; les données d'une demande d'accès lui "
         "sont remises pour la réponse à la personne)",),
        (_ENCRYPTED, _BLIND, _SIGNED, "une demande ambiguë (téléphone partagé, sans "
         "email) n'est exécutée sur aucun compte")),
)


#: which activity each table of ``accounts.models`` serves (``suivi_common.datamap.
#: table_coverage``; ``tests/unit/test_data_map.py`` holds it to the metadata)
TABLES: dict[str, str] = {
    **dict.fromkeys(("users", "sessions", "password_tokens", "masked_invitations",
                     "login_failures", "mfa_factors", "mfa_recovery_codes", "mfa_challenges",
                     "stat_models"), ACCOUNTS),
    "terms_acceptances": TERMS,
    "payments": BILLING, "subscriptions": BILLING,
    "office_openings": OPENINGS,
    **dict.fromkeys(("site_pages", "site_overrides", "site_profiles", "site_images",
                     "boutique_products"), SITES),
    "user_rectifications": REQUESTS, "subject_requests": REQUESTS,
}

#: the tables that hold no personal data, and why
NOT_PERSONAL: dict[str, str] = {
    "networks": "le réseau : son nom, son annonce, ses pays ouverts",
    "access_levels": "les niveaux d'accès d'un réseau : un nom et des permissions",
    "terms_versions": "le texte de chaque version des conditions générales",
    "boutiques": "la vitrine du réseau : titre, présentation, mention d'information du "
                 "bon de commande ; aucune colonne ne désigne une personne",
}


def data_map() -> dict[str, Any]:
    """``DataMap.as_dict()`` of accounts: a fresh copy (callers may change it)."""
    return DataMap(SERVICE, ACTIVITIES).as_dict()
