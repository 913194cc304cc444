"""Work documents over HTTP (terms art. 3.A, issue 13 6): a member uploads documents to
their office (multipart), lists them, downloads them byte for byte; another member gets a
404; the network's admin sees a shared document only while the member's admin-access
switch is on (art. 5); too large is a 413, a refused type a 415, a missing file or a
broken form a 400 with the field, and a level without ``manage_documents`` a 403."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from leads import document_samples as samples
from suivi_common.permissions import ALL, MANAGE_DOCUMENTS
from tools.api_client import Api, Mailbox, onboard, subscribe_by_card
from tools.platform import DEV_STAFF

PASSWORD = "Quarry-Meadow-Violin-58"
MIB = 1024 * 1024


class Network:
    """A network: its admin and two subscribed members, the first on a level of its own."""

    def __init__(self, base_url: str, mailbox: Mailbox) -> None:
        tag = uuid.uuid4().hex[:8]
        self.base_url = base_url
        staff = Api(base_url).login(*DEV_STAFF)
        admin_email = f"admin-{tag}@example.org"
        staff.post("/api/networks", {"name": f"Documents {tag}", "admin": {
            "email": admin_email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
        self.admin = onboard(base_url, mailbox, admin_email, PASSWORD)
        self.member_id, self.member = self._member(mailbox, f"member-{tag}@example.org")
        _, self.other = self._member(mailbox, f"other-{tag}@example.org")
        self.level = self.admin.post("/api/network/access-levels", {
            "name": "Documents", "permissions": list(ALL)}, expect=201)
        self.admin.put(f"/api/network/members/{self.member_id}/access-level",
                       {"access_level_id": self.level["id"]})

    def _member(self, mailbox: Mailbox, email: str) -> tuple[str, Api]:
        member_id = self.admin.post("/api/network/members", {
            "email": email, "first_name": "Bruno", "last_name": "Durand"}, expect=201)["id"]
        api = onboard(self.base_url, mailbox, email, PASSWORD)
        subscribe_by_card(api)
        return member_id, api

    def grant(self, permissions: list[str]) -> None:
        self.admin.put(f"/api/network/access-levels/{self.level['id']}",
                       {"name": "Documents", "permissions": permissions})


@pytest.fixture(scope="module")
def net(base_url: str, mailbox: Mailbox) -> Network:
    return Network(base_url, mailbox)


def send(api: Api, path: str = "/api/documents", *, files: Any = None, data: Any = None,
         **kw: Any) -> requests.Response:
    return api.http.post(f"{api.base_url}{path}", files=files, data=data, timeout=60,
                         headers={"Authorization": f"Bearer {api.token}", **kw.pop("headers", {})},
                         **kw)


def upload(api: Api, name: str, content: bytes, shared: bool = False,
           content_type: str = "application/octet-stream") -> requests.Response:
    return send(api, files={"file": (name, content, content_type)},
                data={"shared_with_network": "true" if shared else "false"})


def fetch(api: Api, path: str) -> requests.Response:
    return api.http.get(f"{api.base_url}{path}", timeout=60,
                        headers={"Authorization": f"Bearer {api.token}"})


def error(resp: requests.Response) -> dict[str, Any]:
    assert resp.headers["Content-Type"].startswith("application/json"), resp.text[:200]
    return dict(resp.json()["error"])


def test_documents_round_trip_and_stay_their_owners(net: Network) -> None:
    member = net.member
    pdf = upload(member, "Devis été 2026.pdf", samples.PDF, content_type="text/html")
    assert pdf.status_code == 201, pdf.text
    doc = pdf.json()
    assert (doc["name"], doc["content_type"], doc["family"], doc["size_bytes"]) == (
        "Devis été 2026.pdf", "application/pdf", "pdf", len(samples.PDF))
    sheet = upload(member, "budget.xlsx", samples.ooxml("xl/workbook.xml")).json()
    page = member.get("/api/documents")
    assert [d["id"] for d in page["items"]] == [sheet["id"], doc["id"]]  # newest first
    assert page["used_bytes"] == len(samples.PDF) + len(samples.ooxml("xl/workbook.xml"))
    assert page["quota_bytes"] == 200 * MIB
    first = member.get("/api/documents?limit=1")
    assert [d["id"] for d in first["items"]] == [sheet["id"]] and first["next_cursor"]
    rest = member.get(f"/api/documents?limit=1&cursor={first['next_cursor']}")
    assert [d["id"] for d in rest["items"]] == [doc["id"]]

    got = fetch(member, f"/api/documents/{doc['id']}")
    assert got.status_code == 200 and got.content == samples.PDF
    assert got.headers["Content-Type"] == "application/pdf"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Devis ete 2026.pdf"')
    assert "filename*=UTF-8''Devis%20%C3%A9t%C3%A9%202026.pdf" in disposition
    assert got.headers["X-Content-Type-Options"] == "nosniff"

    big = samples.of_size(3 * MIB)  # beyond the form parser's in-memory part
    text_doc = upload(member, "notes.txt", big).json()
    assert text_doc["content_type"] == "text/plain; charset=utf-8"
    assert fetch(member, f"/api/documents/{text_doc['id']}").content == big

    for path in (f"/api/documents/{doc['id']}", f"/api/documents/{uuid.uuid4()}"):
        status, body = net.other.call("GET", path)
        assert status == 404 and body["error"]["code"] == "not_found"
    status, _ = net.other.call("DELETE", f"/api/documents/{doc['id']}")
    assert status == 404
    assert net.other.get("/api/documents")["items"] == []

    assert member.call("DELETE", f"/api/documents/{text_doc['id']}")[0] == 200
    assert member.call("GET", f"/api/documents/{text_doc['id']}")[0] == 404
    assert member.get("/api/documents")["used_bytes"] == page["used_bytes"]


def test_the_admin_sees_a_shared_document_only_while_admin_access_is_on(net: Network) -> None:
    member, admin = net.member, net.admin
    private = upload(member, "privé.png", samples.png()).json()
    shared = upload(member, "partagé.odt", samples.odf("text"), shared=True).json()
    assert shared["content_type"] == "application/vnd.oasis.opendocument.text"
    base = f"/api/network/members/{net.member_id}/documents"
    assert [d["id"] for d in admin.get(base)["items"]] == [shared["id"]]
    got = fetch(admin, f"{base}/{shared['id']}")
    assert got.status_code == 200 and got.content == samples.odf("text")
    assert admin.call("GET", f"{base}/{private['id']}")[0] == 404

    member.patch("/api/me/privacy", {"admin_access": False})
    try:
        for path in (base, f"{base}/{shared['id']}"):
            status, body = admin.call("GET", path)
            assert status == 403 and body["error"]["code"] == "admin_access_refused"
    finally:
        member.patch("/api/me/privacy", {"admin_access": True})
    assert [d["id"] for d in admin.get(base)["items"]] == [shared["id"]]

    member.call("PATCH", f"/api/documents/{shared['id']}", {"shared_with_network": False})
    assert admin.get(base)["items"] == []
    assert admin.call("GET", f"{base}/{shared['id']}")[0] == 404
    status, body = net.other.call("GET", base)
    assert status == 403  # only the admin


def test_too_large_and_refused_types(net: Network) -> None:
    member = net.member
    over = upload(member, "gros.txt", samples.of_size(10 * MIB + 1))
    assert over.status_code == 413 and error(over)["code"] == "document_too_large"
    way_over = upload(member, "énorme.txt", samples.of_size(12 * MIB))
    assert way_over.status_code == 413 and error(way_over)["code"] == "document_too_large"
    exact = upload(member, "juste.txt", samples.of_size(10 * MIB))
    assert exact.status_code == 201, exact.text
    member.call("DELETE", f"/api/documents/{exact.json()['id']}", expect=200)
    for name, content in (("programme.pdf", samples.ELF), ("archive.docx", samples.plain_zip()),
                          ("latin1.txt", "café".encode("latin-1"))):
        refused = upload(member, name, content, content_type="application/pdf")
        assert refused.status_code == 415, (name, refused.text)
        assert error(refused)["code"] == "unsupported_document_type"


def test_a_bad_form_is_a_400_naming_the_field(net: Network) -> None:
    member = net.member
    no_file = send(member, data={"shared_with_network": "true"})
    assert no_file.status_code == 400 and "file" in error(no_file)["fields"]
    as_json = member.http.post(f"{member.base_url}/api/documents", json={"file": "x"},
                               headers={"Authorization": f"Bearer {member.token}"}, timeout=30)
    assert as_json.status_code == 400 and error(as_json)["code"] == "multipart_required"
    broken = send(member, data=b"--nope\r\nnot a part",
                  headers={"Content-Type": "multipart/form-data; boundary=nope"})
    assert broken.status_code == 400, broken.text
    assert "file" in error(broken)["fields"]
    no_boundary = send(member, data=b"x", headers={"Content-Type": "multipart/form-data"})
    assert no_boundary.status_code == 400, no_boundary.text
    flag = upload(member, "a.pdf", samples.PDF)
    member.call("DELETE", f"/api/documents/{flag.json()['id']}", expect=200)
    bad_flag = send(member, files={"file": ("a.pdf", samples.PDF)},
                    data={"shared_with_network": "perhaps"})
    assert bad_flag.status_code == 400
    assert "shared_with_network" in error(bad_flag)["fields"]
    empty = upload(member, "vide.txt", b"")
    assert empty.status_code == 400 and "file" in error(empty)["fields"]


def test_managing_documents_needs_the_permission(net: Network) -> None:
    member = net.member
    doc = upload(member, "garde.pdf", samples.PDF).json()
    net.grant([p for p in ALL if p != MANAGE_DOCUMENTS])
    try:  # the level's change evicts the gateway's cached answers: the next request has it
        resp = upload(member, "refus.pdf", samples.PDF)
        assert resp.status_code == 403
        assert (error(resp)["code"], error(resp)["permission"]) == (
            "permission_denied", MANAGE_DOCUMENTS)
        status, body = member.call("DELETE", f"/api/documents/{doc['id']}")
        assert (status, body["error"]["permission"]) == (403, MANAGE_DOCUMENTS)
        status, body = member.call("PATCH", f"/api/documents/{doc['id']}",
                                   {"shared_with_network": True})
        assert status == 403
        assert fetch(member, f"/api/documents/{doc['id']}").content == samples.PDF
    finally:
        net.grant(list(ALL))
    assert member.call("DELETE", f"/api/documents/{doc['id']}")[0] == 200
