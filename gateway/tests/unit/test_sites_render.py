"""The users' sites as rendered (issue 13 §2): valid HTML5, escaped coordinates, the
stylesheet allowed by its hash, the form's signed token."""
from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import html5lib
import pytest

from gateway.sites import forms, render

SITE: dict[str, Any] = {
    "slug": "bruno-durand-abc123", "kind": "construction", "user_id": "u", "network_id": "n",
    "coordinates": {"name": "Bruno <b>Durand</b>", "phone": "+33612345678",
                    "email": "bruno@example.org", "photo": None},
    "page": {"id": "p1", "title": "Avec {name}", "blocks": [
        {"id": "h", "type": "heading", "text": "Rejoignez {name}", "level": 2},
        {"id": "t", "type": "text", "html": "<p>Appelez {phone} &amp; {name}</p>"},
        {"id": "v", "type": "video", "url": "https://video.example/x", "title": ""},
        {"id": "f", "type": "form", "notice": "Notice\nligne 2", "notice_version": "v1",
         "submit_label": "Envoyer"}]}}
FORM = {"action": "/s/bruno-durand-abc123/opportunite", "token": "t",
        "countries": [("FR", "France"), ("BE", "Belgique")]}


def parse_errors(text: str) -> list[Any]:
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(text)
    return list(parser.errors)


def test_a_page_is_valid_html5_with_its_coordinates_escaped() -> None:
    text = render.page(SITE, FORM, errors={"email": "invalide"}, values={"city": "<Paris>"},
                       message="À corriger")
    assert parse_errors(text) == []
    assert "<b>Durand" not in text and "Bruno &lt;b&gt;Durand&lt;/b&gt;" in text
    assert "Appelez +33612345678 &amp; Bruno &lt;b&gt;" in text
    assert 'value="&lt;Paris&gt;"' in text and "invalide" in text
    assert "<script" not in text


def test_simple_pages_are_valid_html5() -> None:
    assert parse_errors(render.simple("Site inactif", ["Ce site n'est pas disponible."])) == []


def test_the_inline_stylesheet_is_allowed_by_its_hash_and_nothing_else() -> None:
    text = render.page(SITE, None)
    style = re.search(r"<style>(.*?)</style>", text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in render.CSP
    assert "default-src 'none'" in render.CSP and "script-src" not in render.CSP


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUIVI_PRINCIPAL_KEY", "k" * 40)
    forms._key.cache_clear()


def test_the_form_token_holds_the_time_page_and_notice() -> None:
    token = forms.issue("s", "construction", "p1", "Notice", 1000.0)
    assert forms.check(token, "s", "construction", "p1", "Notice", 1001.0).reason == "too_fast"
    assert forms.check(token, "s", "construction", "p1", "Notice", 1010.0).ok
    assert forms.check(token, "s", "construction", "p1", "Autre", 1010.0).reason == "notice_changed"
    assert forms.check(token, "t", "construction", "p1", "Notice", 1010.0).reason == "forged"
    assert forms.check(token, "s", "distribution", "p1", "Notice", 1010.0).reason == "forged"
    assert forms.check(token, "s", "construction", "p1", "Notice", 1e6).reason == "expired"
    assert forms.check("garbage", "s", "construction", "p1", "Notice", 1010.0).reason == "forged"
