"""The categories of personal data the processing annex lists (terms, annex II), with the
French labels notices and the register use."""
from __future__ import annotations

DATA_CATEGORIES: dict[str, str] = {
    "identity": "nom et prénom",
    "email": "adresse email",
    "phone": "numéro de téléphone fixe et mobile",
    "call_window": "période pour être joint au téléphone",
    "postal_code": "code postal",
    "city": "ville",
    "country": "pays",
    "professional_situation": "situation professionnelle",
    "time_available": "temps disponible pour une nouvelle activité professionnelle",
    "birth_date": "date de naissance",
    "income_goal": "objectifs de revenus",
    "source": "source de l'inscription (URL du site, contact direct, etc.)",
    "comments": "commentaires écrits fournis par le prospect lors des contacts téléphoniques",
    "electronic_exchanges": "échanges électroniques",
}


def labelled(codes: list[str]) -> list[dict[str, str]]:
    return [{"code": c, "label": DATA_CATEGORIES[c]} for c in codes]
