"""The users' websites in accounts (issue 13 §2): the admin's templates (blocks checked,
rich text sanitised, images by their bytes), overrides under ``edit_site`` with who and
when, the admin's reset, other networks not found, and what the gateway renders."""
from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound, UnsupportedMediaType
from suivi_common.identity import Principal
from suivi_common.permissions import PermissionDenied
from suivi_common.rpc import RpcClient

NOTICE = "Vos données servent à vous recontacter."


def page(**overrides: Any) -> dict[str, Any]:
    return {"kind": "construction", "title": "Avec {name}", "blocks": [
        {"id": "intro", "type": "heading", "text": "Rejoignez {name}", "overridable": True},
        {"id": "body", "type": "text", "html": "<p onmouseover='x'>Bonjour<script>x</script></p>"},
        {"id": "form", "type": "form", "notice": NOTICE, "notice_version": "v1"}], **overrides}


def png(size: tuple[int, int] = (2400, 1200)) -> str:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 0, 255, 128)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_the_admin_builds_a_page_its_rich_text_sanitised(h: Any) -> None:
    a = h.new_network()
    admin = h.rpc(a["admin"])
    made = admin.create_site_page(page())
    assert [b["id"] for b in made["blocks"]] == ["intro", "body", "form"]
    assert made["blocks"][1]["html"] == "<p>Bonjour</p>"
    assert made["blocks"][2]["overridable"] is False  # a form never is
    with pytest.raises(Conflict) as taken:
        admin.create_site_page(page())
    assert taken.value.code == "site_page_exists"
    with pytest.raises(Invalid) as bad:
        admin.create_site_page({"kind": "distribution", "title": "", "blocks": [
            {"type": "video", "url": "javascript:alert(1)"}, {"type": "form"}]})
    assert {"title", "blocks.0.url", "blocks.1.notice", "blocks.1.notice_version"} <= set(
        bad.value.fields or {})
    assert [p["id"] for p in admin.list_site_pages()["items"]] == [made["id"]]
    assert admin.delete_site_page(made["id"]) == {"id": made["id"], "deleted": True}


def test_images_are_checked_by_their_bytes_and_re_encoded(h: Any) -> None:
    admin = h.rpc(h.new_network()["admin"])
    image = admin.upload_site_image(png())
    assert (image["width"], image["height"], image["content_type"]) == (1600, 800, "image/png")
    with pytest.raises(UnsupportedMediaType):
        admin.upload_site_image(base64.b64encode(b"GIF-not-really<script>").decode())
    with pytest.raises(Invalid):
        admin.upload_site_image(base64.b64encode(b"\x89PNG\r\n\x1a\nbroken").decode())
    served = h.gateway.public_site_image(image["id"])
    assert base64.b64decode(served["content"]).startswith(b"\x89PNG")


def test_overrides_need_edit_site_record_who_and_when_and_the_admin_resets(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "bruno@soleil.test")
    made = h.rpc(a["admin"]).create_site_page(page())
    mine = h.rpc(member).override_site_block(made["id"], "intro", {"text": "À vous, {name}"})
    assert mine["edited_by"] == member["user_id"] and mine["edited_at"]
    with pytest.raises(Invalid):
        h.rpc(member).override_site_block(made["id"], "body", {"html": "<p>x</p>"})  # not open
    with pytest.raises(Invalid):
        h.rpc(member).override_site_block(made["id"], "form", {"notice": "x"})
    narrowed = Principal(member["user_id"], "user", a["id"], ("view_statistics",))
    with RpcClient(h.cfg["AMQP_URI"], principal=narrowed) as rpc, \
            pytest.raises(PermissionDenied) as denied:
        rpc.accounts.override_site_block(made["id"], "intro", {"text": "Non"})
    assert denied.value.permission == "edit_site"
    site = h.rpc(member).my_site()
    assert site["pages"][0]["blocks"][0]["text"] == "À vous, {name}"
    assert site["pages"][0]["blocks"][0]["overridden"] is True
    assert h.rpc(a["admin"]).get_site_page(made["id"])["overrides"][0]["user_id"] == member["user_id"]
    h.rpc(a["admin"]).reset_site_override(made["id"], member["user_id"], "intro")
    assert h.rpc(member).my_site()["pages"][0]["blocks"][0]["text"] == "Rejoignez {name}"
    with pytest.raises(NotFound):
        h.rpc(a["admin"]).reset_site_override(made["id"], member["user_id"], "intro")


def test_other_networks_see_nothing_and_members_change_no_template(h: Any) -> None:
    a = h.new_network()
    b = h.new_network("Réseau B", "admin@b.test")
    member = h.new_member(a, "m@soleil.test")
    made = h.rpc(a["admin"]).create_site_page(page())
    with pytest.raises(Forbidden):
        h.rpc(member).create_site_page(page(kind="distribution"))
    other = h.rpc(b["admin"])
    for call in (lambda: other.get_site_page(made["id"]),
                 lambda: other.update_site_page(made["id"], page()),
                 lambda: other.delete_site_page(made["id"]),
                 lambda: other.reset_site_override(made["id"], member["user_id"], "intro"),
                 lambda: other.get_site_page("not-a-uuid")):
        with pytest.raises(NotFound):
            call()
    outsider = h.new_member(b, "o@b.test")
    with pytest.raises(NotFound):
        h.rpc(outsider).override_site_block(made["id"], "intro", {"text": "x"})


def test_the_public_site_lives_with_the_office_and_shows_what_the_member_allows(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "bruno@soleil.test", "Bruno", "Leroy")
    h.rpc(a["admin"]).create_site_page(page())
    slug = h.rpc(member).my_site()["slug"]
    assert slug.startswith("bruno-leroy-")
    closed = h.gateway.public_site(slug, "construction")
    assert closed["active"] is False and closed["page"] is None and closed["coordinates"] == {}
    h.subscribe_by_transfer(member)
    site = h.gateway.public_site(slug, "construction")
    assert site["active"] is True and site["coordinates"]["name"] == "Bruno Leroy"
    assert site["coordinates"]["email"] == "bruno@soleil.test"
    h.rpc(member).update_my_site({"show_email": False, "show_name": False})
    hidden = h.gateway.public_site(slug, "construction")["coordinates"]
    assert hidden["email"] is None and hidden["name"] is None
    with pytest.raises(NotFound):
        h.gateway.public_site(slug, "distribution")  # no page of that kind
    with pytest.raises(NotFound):
        h.gateway.public_site("nobody-000000", "construction")
    with pytest.raises(Forbidden):
        h.rpc(member).public_site(slug, "construction")  # the gateway's only


def test_a_member_photo_is_shown_as_their_setting_allows_and_replaced(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "bruno@soleil.test")
    h.rpc(a["admin"]).create_site_page(page())
    h.subscribe_by_transfer(member)
    mine = h.rpc(member).set_my_site_photo(png((400, 400)))
    assert mine["settings"]["has_photo"] is True
    slug = mine["slug"]
    photo = h.gateway.public_site(slug, "construction")["coordinates"]["photo"]
    assert base64.b64decode(h.gateway.public_site_image(photo)["content"]).startswith(b"\x89PNG")
    h.rpc(member).set_my_site_photo(png((300, 300)))
    with pytest.raises(NotFound):
        h.gateway.public_site_image(photo)  # the previous photo is gone
    photo = h.gateway.public_site(slug, "construction")["coordinates"]["photo"]
    h.rpc(member).update_my_site({"show_photo": False})
    assert h.gateway.public_site(slug, "construction")["coordinates"]["photo"] is None
    with pytest.raises(NotFound):
        h.gateway.public_site_image(photo)  # hidden: not served either
    with pytest.raises(Invalid):
        h.rpc(member).update_my_site({"show_photo": "yes"})
