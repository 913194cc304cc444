"""The site and boutique pages' rules that need no platform: the public sites' cache
(time-bounded, emptied by a change, a new key each platform day), the forms' reading (a
price as typed, an upload bounded as the API's, a template's field errors shown beside
the block edited), the upload routes' body bound, and the templates (CSRF in every POST
form, content escaped)."""
from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from werkzeug.datastructures import FileStorage
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.routes.sites import IMAGE_MAX_BODY
from gateway.sites import cache
from gateway.web.http import Page
from gateway.web.routes import site_editor
from gateway.web.routes.site_editor import (
    WebSiteEditorRoutes,
    block_errors,
    price_cents,
    scoped,
    uploaded,
)
from suivi_common import clock
from suivi_common.errors import Invalid, NotFound


def page_with(form: dict[str, Any] | None = None) -> Page:
    request = Request(EnvironBuilder(method="POST", path="/web/site/photo",
                                     data=form or {}).get_environ())
    return Page(request, None, None, "en", "the-csrf")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("SITE_CACHE_SECONDS", raising=False)
    cache.clear()
    yield
    cache.clear()
    clock.reset()


def loader(answers: list[Any]) -> Any:
    calls: list[int] = []

    def load() -> dict[str, Any]:
        calls.append(1)
        answer = answers[min(len(calls), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    load.calls = calls  # type: ignore[attr-defined]
    return load


def test_the_cache_answers_within_its_bound_then_asks_again() -> None:
    now = Clock()
    load = loader([{"active": True, "n": 1}, {"active": False, "n": 2}])
    assert cache.cached(("site", "a", "distribution"), load, now)["n"] == 1
    now.t += cache.DEFAULT_SECONDS - 0.1
    assert cache.cached(("site", "a", "distribution"), load, now)["n"] == 1
    assert len(load.calls) == 1
    now.t += 0.2  # past the bound: a deactivated site shows as such
    assert cache.cached(("site", "a", "distribution"), load, now) == {"active": False, "n": 2}
    assert len(load.calls) == 2


def test_a_change_empties_the_cache_at_once() -> None:
    now = Clock()
    load = loader([{"n": 1}, {"n": 2}])
    cache.cached(("boutique", "a"), load, now)
    cache.clear()
    assert cache.cached(("boutique", "a"), load, now)["n"] == 2


def test_not_found_is_kept_too_and_raised_again() -> None:
    now = Clock()
    load = loader([NotFound("No such site"), {"n": 2}])
    for _ in range(2):
        with pytest.raises(NotFound):
            cache.cached(("site", "zz", "construction"), load, now)
    assert len(load.calls) == 1


def test_a_new_platform_day_is_a_new_key() -> None:
    now = Clock()
    load = loader([{"n": 1}, {"n": 2}])
    clock.freeze(datetime(2027, 3, 1, 12, tzinfo=UTC))
    cache.cached(("site", "a", "distribution"), load, now)
    clock.freeze(datetime(2027, 3, 2, 12, tzinfo=UTC))  # the subscription may have ended
    assert cache.cached(("site", "a", "distribution"), load, now)["n"] == 2


def test_the_cache_can_be_turned_off_and_returns_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    now = Clock()
    load = loader([{"n": 1}, {"n": 2}])
    got = cache.cached(("site", "b", "distribution"), load, now)
    got["n"] = 99  # a caller's change never reaches the next visitor
    assert cache.cached(("site", "b", "distribution"), load, now)["n"] == 1
    monkeypatch.setenv("SITE_CACHE_SECONDS", "0")
    assert cache.cached(("site", "b", "distribution"), load, now)["n"] == 2


def test_a_price_is_read_as_typed_in_euros() -> None:
    p = page_with()
    assert price_cents(p, "12,50") == 1250
    assert price_cents(p, "12.5") == 1250
    assert price_cents(p, " 7 € ") == 700
    assert price_cents(p, "0") == 0
    for bad in ("", "douze", "-3", "1,234"):
        with pytest.raises(Invalid) as refused:
            price_cents(p, bad)
        assert "price" in (refused.value.fields or {})


def test_the_templates_errors_are_shown_beside_the_block_edited() -> None:
    exc = Invalid("The site page is not valid",
                  fields={"blocks.2.html": "Rich text of 1 to 20000 characters.",
                          "title": "1 to 200 characters on one line."})
    assert block_errors(exc, 2, "intro") == {"intro.html": "Rich text of 1 to 20000 characters.",
                                             "title": "1 to 200 characters on one line."}
    assert scoped({"_": "Some fields", "name": "Missing"}, "new") == {
        "_top": "Some fields", "new.name": "Missing"}


def upload(p: Page, content: bytes, filename: str = "a.png") -> Page:
    p.http.files  # noqa: B018  (parse, then put the file in)
    p.http.__dict__["files"] = {"file": FileStorage(io.BytesIO(content), filename=filename)}
    return p


def test_an_upload_is_sent_as_the_api_sends_it_and_bounded() -> None:
    p = upload(page_with(), b"\x89PNG-bytes")
    assert base64.b64decode(uploaded(p) or "") == b"\x89PNG-bytes"
    with pytest.raises(Invalid) as empty:
        uploaded(upload(page_with(), b""))
    assert empty.value.code == "image_empty"
    with pytest.raises(Invalid) as big:
        uploaded(upload(page_with(), b"x" * (site_editor.IMAGE_MAX_BYTES + 1)))
    assert "file" in (big.value.fields or {})
    with pytest.raises(Invalid) as missing:
        uploaded(page_with())
    assert "file" in (missing.value.fields or {})
    assert uploaded(page_with(), required=False) is None


def test_the_upload_forms_take_a_body_as_large_as_the_apis() -> None:
    for name in ("web_admin_site_block_add", "web_admin_site_block",
                 "web_admin_product_create", "web_admin_product_update", "web_my_site_photo"):
        entrypoints = getattr(getattr(WebSiteEditorRoutes, name), ENTRYPOINT_EXTENSIONS_ATTR)
        assert [e.max_body for e in entrypoints] == [IMAGE_MAX_BODY], name


SAMPLE_PAGE = {
    "id": "p1", "kind": "distribution", "title": "Chez {name}", "updated_at": "",
    "blocks": [
        {"id": "h", "type": "heading", "text": "<b>Bonjour</b>", "level": 2,
         "overridable": True},
        {"id": "t", "type": "text", "html": "<p>Texte</p>", "overridable": False},
        {"id": "i", "type": "image", "image_id": "0" * 32, "alt": "x", "overridable": False},
        {"id": "v", "type": "video", "url": "https://v.example/1", "title": "Vidéo",
         "overridable": True},
        {"id": "f", "type": "form", "notice": "Avis", "notice_version": "v1",
         "submit_label": "Envoyer", "overridable": False}],
    "overrides": [{"page_id": "p1", "block_id": "h", "user_id": "u1",
                   "content": {"text": "<script>alert(1)</script>"}, "edited_by": "u1",
                   "edited_at": "2027-01-01T10:00:00+00:00"}]}


def rendered(template: str, **context: Any) -> str:
    return page_with().render(template, errors={}, typed={}, **context).get_data(as_text=True)


def post_forms_have_csrf(html: str) -> None:
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
    assert forms
    for body in forms:
        assert 'name="csrf" value="the-csrf"' in body


def test_every_form_of_the_new_pages_carries_its_csrf_and_content_is_escaped() -> None:
    html = rendered("admin/site_page.html", sp=SAMPLE_PAGE, names={"u1": "Bruno Durand"},
                    blocks={}, block_types=site_editor.BLOCK_TYPES, field_keys=set())
    post_forms_have_csrf(html)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;Bonjour&lt;/b&gt;" in html
    assert 'enctype="multipart/form-data"' in html
    shop = rendered("admin/boutique.html", shop=None, euros=site_editor.euros, products=[{
        "id": "x1", "name": "Crème <i>", "description": "", "price_cents": 1250,
        "price": "12,50 €", "image_ids": ["0" * 32], "order_note": "", "position": 1}])
    post_forms_have_csrf(shop)
    assert 'value="12,50"' in shop and "Crème &lt;i&gt;" in shop
    mine = {"slug": "bruno-1", "settings": {"show_name": True, "show_phone": False,
                                            "show_email": True, "show_photo": True,
                                            "has_photo": False},
            "pages": [SAMPLE_PAGE]}
    from gateway.sites import render
    preview = {"page": SAMPLE_PAGE, "live": True, "coordinates": {"name": "Bruno <b>"},
               "blocks": render.filled_blocks(SAMPLE_PAGE["blocks"], {"name": "Bruno <b>"}),
               "title": "Chez Bruno", "open": [SAMPLE_PAGE["blocks"][0]]}
    editor = rendered("site/editor.html", mine=mine, previews=[preview],
                      links=[("/s/bruno-1/", "distribution")], boutique="/b/bruno-1/",
                      member_fields=site_editor.MEMBER_FIELDS)
    post_forms_have_csrf(editor)
    assert 'href="/s/bruno-1/"' in editor and 'href="/b/bruno-1/"' in editor
    assert "<p>Texte</p>" in editor  # sanitised by accounts: shown as markup
    assert "Bruno &lt;b&gt;" in editor


class _Principal:
    role, user_id, network_id = "admin", "admin-1", "net-1"


class _Auth:
    def require_token(self, token: str | None, **_: Any) -> tuple[Any, str]:
        return _Principal(), token or ""


class _Accounts:
    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed
        self.opened: list[str] = []

    def as_service(self) -> _Accounts:
        return self

    def get_member(self, member_id: str) -> dict[str, Any]:
        return {"id": member_id}

    def admin_can_view(self, admin_id: str, member_id: str) -> bool:
        return self.allowed

    def member_office(self, member_id: str) -> dict[str, Any]:
        self.opened.append(member_id)
        return {"member": {"id": member_id, "first_name": "Bruno", "last_name": "Durand",
                           "email": "b@example.org", "status": "active"},
                "phone": None, "address": None, "subscription": None}


class _Leads:
    def office_member_leads(self, member_id: str, *_: Any) -> dict[str, Any]:
        return {"items": [{"id": "l1", "first_name": "Camille", "last_name": "<b>Lefèvre</b>",
                           "status": "new", "city": "Paris", "origin": "site",
                           "created_at": "2027-01-01T10:00:00+00:00"}],
                "next_cursor": "c2"}


def member_office_page(allowed: bool) -> tuple[Any, _Accounts]:
    from gateway.routes.members import MemberOfficeRoutes
    from gateway.web.routes.admin import WebAdminRoutes

    class Service(WebAdminRoutes, MemberOfficeRoutes):
        pass

    service = Service()
    accounts = _Accounts(allowed)
    service.auth, service.accounts, service.leads = _Auth(), accounts, _Leads()  # type: ignore
    request = Request(EnvironBuilder(method="GET", path="/web/admin/members/m1/office",
                                     headers={"Cookie": "suivi_session=tok"}).get_environ())
    return service.web_admin_member_office(request, member_id="m1"), accounts


def test_a_members_office_is_shown_read_only_while_they_allow_it() -> None:
    shown, accounts = member_office_page(allowed=True)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and accounts.opened == ["m1"]
    assert "&lt;b&gt;Lefèvre&lt;/b&gt;" in html and "cursor=c2" in html
    main = html.split('<main id="main">', 1)[1]
    assert 'method="post"' not in main  # read-only
    refused, accounts = member_office_page(allowed=False)
    assert refused.status_code == 403 and accounts.opened == []
    assert "Camille" not in refused.get_data(as_text=True)
