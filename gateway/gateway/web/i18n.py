"""French by default, English on request: gettext catalogues read with Babel.

The message ids are English; ``locale/fr/LC_MESSAGES/messages.po`` translates them. The
``.po`` text is the only thing kept in the repository: it is compiled in memory when the
gateway first renders a page in French (no ``.mo`` binary to rebuild or forget).
``make messages`` re-extracts the ids from the templates and routes.
"""
from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGS = ("fr", "en")
DEFAULT_LANG = "fr"
LOCALE_DIR = Path(__file__).parent / "locale"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang``; English (the message ids) needs none."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == "en" or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def lang_of(value: str | None) -> str:
    return value if value in LANGS else DEFAULT_LANG
