"""Printable documents (HTML, French): the authority notification record and the register.
Every value is escaped; the documents carry no script and no outside resource."""
from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

_STYLE = ("body{font-family:serif;max-width:48em;margin:2em auto;line-height:1.4}"
          "th{text-align:left;vertical-align:top;padding-right:1em}"
          "table{border-collapse:collapse;margin-bottom:1em}td,th{border-bottom:1px solid #ccc}")


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return "<ul>" + "".join(f"<li>{_value(v)}</li>" for v in value) + "</ul>"
    if isinstance(value, Mapping):
        return _table(value)
    return escape(str(value)).replace("\n", "<br>")


def _table(rows: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> str:
    labels = labels or {}
    cells = "".join(f"<tr><th>{escape(labels.get(k, k))}</th><td>{_value(v)}</td></tr>"
                    for k, v in rows.items())
    return f"<table>{cells}</table>"


AUTHORITY_LABELS = {
    "breach_id": "Référence de la violation", "controller": "Responsable de traitement",
    "processor": "Sous-traitant", "nature": "Nature de la violation (art. 33.3.a)",
    "data_categories": "Catégories de données", "approximate_persons":
    "Nombre approximatif de personnes concernées", "approximate_records":
    "Nombre approximatif d'enregistrements concernés", "dpo":
    "Délégué à la protection des données (art. 33.3.b)", "likely_consequences":
    "Conséquences probables (art. 33.3.c)", "measures_taken":
    "Mesures prises ou envisagées (art. 33.3.d)", "services": "Services concernés",
    "scope": "Périmètre", "subjects_to_be_notified": "Communication aux personnes (art. 34)",
    "timeline": "Chronologie", "stages": "Informations communiquées par étapes (art. 33.4)",
    "generated_at": "Document établi le",
}


def authority_record_html(record: Mapping[str, Any]) -> str:
    rows = {k: ([c["label"] for c in v] if k == "data_categories" else v)
            for k, v in record.items()}
    return _page("Notification d'une violation de données à caractère personnel",
                 _table(rows, AUTHORITY_LABELS))


def register_html(register: Mapping[str, Any]) -> str:
    parts = [_table({k: v for k, v in register.items() if k != "activities"})]
    for activity in register.get("activities", []):
        parts.append(f"<h2>{escape(str(activity.get('name', '')))}</h2>{_table(activity)}")
    return _page("Registre des catégories d'activités de traitement", "".join(parts))
