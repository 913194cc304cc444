"""Helpers shared by the compliance tests (importlib mode: test modules cannot import each
other). Nothing here runs in production."""
from __future__ import annotations

import copy
from typing import Any

_LEADS_MAP: dict[str, Any] = {"service": "leads", "format_version": 1, "activities": [{
    "name": "Bureau des prospects", "role": "processor",
    "purposes": ["prospection pour le compte de l'utilisateur"],
    "legal_basis": "contrat de sous-traitance", "data_subjects": ["prospects"],
    "categories": ["nom et prénom", "email"], "retention": "6 mois après la fin du bureau",
    "recipients": ["l'utilisateur"], "security_measures": ["chiffrement"],
    "transfers_outside_eu": None}]}


def leads_map() -> dict[str, Any]:
    """A small data map as leads would declare it (a fresh copy: tests change it)."""
    return copy.deepcopy(_LEADS_MAP)
