"""The web office's rules that need no platform: where a login may send you back, the CSRF
check, what the search box searches, that the pages autoescape, and that the French
catalogue translates every message the pages use (the browser tests walk the rest)."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.web import http as web
from gateway.web.i18n import LOCALE_DIR, translations
from gateway.web.routes.office import search_filters

GATEWAY = Path(web.__file__).resolve().parents[2]


def post(form: dict[str, str], cookie: str | None = None, origin: str | None = None) -> Request:
    headers = {"Origin": origin} if origin else {}
    if cookie is not None:
        headers["Cookie"] = f"{web.CSRF_COOKIE}={cookie}"
    return Request(EnvironBuilder(method="POST", base_url="http://127.0.0.1:8000/",
                                  path="/web/login", data=form, headers=headers).get_environ())


@pytest.mark.parametrize("value", [None, "", "/", "//evil.example/web/", "/\\evil.example",
                                   "https://evil.example/web/", "/api/me", "web/", "/webx"])
def test_next_is_a_local_web_page_or_home(value: str | None) -> None:
    assert web.safe_next(value) == web.HOME


def test_next_keeps_a_web_page_and_its_query() -> None:
    assert web.safe_next("/web/office?status=new") == "/web/office?status=new"


def test_csrf_needs_the_cookie_and_the_same_field() -> None:
    web.check_csrf(post({"csrf": "abc"}, cookie="abc"))
    web.check_csrf(post({"csrf": "abc"}, cookie="abc", origin="http://127.0.0.1:8000"))
    for request in (post({}, cookie="abc"), post({"csrf": "abc"}),
                    post({"csrf": "abd"}, cookie="abc"), post({"csrf": ""}, cookie=""),
                    post({"csrf": "abc"}, cookie="abc", origin="https://evil.example"),
                    post({"csrf": "abc"}, cookie="abc", origin="null")):
        with pytest.raises(web.CsrfRefused):
            web.check_csrf(request)


def test_the_search_box_searches_what_leads_can_match() -> None:
    assert search_filters("  ") == {}
    assert search_filters("Louise@Exemple.be") == {"email": "Louise@Exemple.be"}
    assert search_filters("+32 470 12 34 56") == {"phone": "+32 470 12 34 56"}
    assert search_filters("Bruxelles") == {"city": "Bruxelles"}


def test_templates_autoescape() -> None:
    html = web.env.get_template("error.html").render(
        _=str, gettext=str, title="<b>t</b>", message="<script>alert(1)</script>", lang="fr",
        langs=("fr", "en"), csrf="x", principal=None, here="/web/")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script src=\"/web/static/web.js\" defer></script>" in html  # ours, not inline
    assert "<script>" not in html and "style=" not in html


def test_french_catalogue_translates_every_message() -> None:
    with (LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="fr")
    translated = {m.id for m in catalog if m.id and m.string}
    used = {message for _, _, message, _, *_ in extract_from_dir(
        str(GATEWAY), method_map=[("gateway/web/**.py", "python"),
                                  ("gateway/web/templates/**.html", "jinja2")],
        options_map={"gateway/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"_": None, "gettext": None, "N_": None})}
    assert used, "no message extracted"
    assert sorted(used - translated) == []
    fr = translations("fr")
    assert fr.gettext("%(n)s leads taken.") % {"n": 3} == "3 contacts pris."
    assert translations("en").gettext("Dashboard") == "Dashboard"
