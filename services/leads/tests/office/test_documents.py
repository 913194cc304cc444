"""Work documents in leads (terms art. 3.A), against the real database and broker: sealed
at rest under the owner's key, byte-exact downloads, the quota taken atomically (two
uploads at once cannot both pass it), deletion giving the bytes back, another user's id a
404, the admin seeing only what a member shares while admin access is on, the
``manage_documents`` permission, and the end of contract taking the documents along."""
from __future__ import annotations

import base64
import uuid
from typing import Any

import eventlet
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from leads import document_samples as samples
from leads.models import office_document_usage, office_documents
from leads.office_testing import SeparateCtx, paris
from leads.usecases import documents, retention
from leads.usecases.entitlements import record_office
from leads.usecases.office import end_of_contract
from leads.usecases.office.context import OfficeCtx, office_scope
from suivi_common import clock
from suivi_common.auth import Principal
from suivi_common.crypto import Vault
from suivi_common.errors import Conflict, Forbidden, NotFound, TooLarge, UnsupportedMediaType
from suivi_common.permissions import ALL, MANAGE_DOCUMENTS, PermissionDenied
from suivi_common.rpc import RpcClient
from suivi_common.testing.waiting import wait_for


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def upload(h: Any, owner: str = "u1", content: bytes = samples.PDF, name: str = "devis.pdf",
           shared: bool = False, network: str = "net-1") -> dict[str, Any]:
    return h.run(documents.upload, owner, network, name, b64(content), shared)


def raw_rows(h: Any) -> list[Any]:
    with h.engine.connect() as conn:
        return list(conn.execute(select(office_documents)).all())


def used(h: Any, owner: str = "u1") -> int:
    with h.engine.connect() as conn:
        return int(conn.execute(select(office_document_usage.c.bytes_used).where(
            office_document_usage.c.owner_id == owner)).scalar() or 0)


# --- use cases -------------------------------------------------------------------------------

def test_a_document_is_sealed_at_rest_and_comes_back_byte_for_byte(h: Any) -> None:
    content = samples.ooxml() + b"compte-rendu-Marchand"
    doc = upload(h, content=content, name="Réunion Marchand.docx")
    assert (doc["name"], doc["family"], doc["size_bytes"], doc["shared_with_network"]) == (
        "Réunion Marchand.docx", "office", len(content), False)
    assert doc["content_type"].endswith("wordprocessingml.document")
    (row,) = raw_rows(h)
    assert row.key_scope == office_scope("net-1", "u1")
    stored = bytes(row.content) + bytes(row.name) + bytes(row.doc_key)
    assert b"Marchand" not in stored and "Marchand".encode("utf-16-le") not in stored
    back = h.run(documents.download, "u1", doc["id"])
    assert base64.b64decode(back["data"]) == content
    assert back["name"] == "Réunion Marchand.docx"
    listed = h.run(documents.list_mine, "u1", None, 50)
    assert [d["id"] for d in listed["items"]] == [doc["id"]]
    assert (listed["used_bytes"], listed["quota_bytes"]) == (len(content), 200 * 1024 * 1024)


def test_a_refused_type_or_size_stores_nothing_and_takes_no_quota(h: Any) -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        upload(h, content=samples.ELF, name="rapport.pdf")
    assert refused.value.code == "unsupported_document_type"
    with pytest.raises(UnsupportedMediaType):
        upload(h, content=samples.plain_zip(), name="lettre.docx")
    with pytest.raises(TooLarge) as big:
        upload(h, content=samples.of_size(10 * 1024 * 1024 + 1), name="gros.txt")
    assert big.value.code == "document_too_large"
    assert raw_rows(h) == [] and used(h) == 0
    exact = upload(h, content=samples.of_size(10 * 1024 * 1024), name="juste.txt")
    assert exact["size_bytes"] == 10 * 1024 * 1024 and exact["family"] == "text"


def test_the_quota_is_reached_never_passed_and_a_deletion_gives_it_back(
        h: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCUMENT_QUOTA_BYTES", "1000")
    first = upload(h, content=samples.of_size(600), name="a.txt")
    upload(h, content=samples.of_size(400), name="b.txt")  # exactly the quota
    with pytest.raises(Conflict) as full:
        upload(h, content=samples.of_size(1), name="c.txt")
    assert full.value.code == "document_quota_exceeded"
    assert full.value.fields == {"quota_bytes": 1000, "used_bytes": 1000, "size_bytes": 1}
    assert used(h) == 1000
    upload(h, owner="u2", content=samples.of_size(600), name="other.txt")  # per office
    assert h.run(documents.delete_one, "u1", first["id"]) == {"id": first["id"], "deleted": True}
    assert used(h) == 400
    assert first["id"] not in {str(r.id) for r in raw_rows(h)}  # the content is gone
    with pytest.raises(NotFound):
        h.run(documents.download, "u1", first["id"])
    upload(h, content=samples.of_size(600), name="again.txt")
    assert used(h) == 1000


def _waiting_on_a_lock(h: Any) -> bool:
    with h.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE '%office_document_usage%'")).scalar())


@pytest.mark.parametrize("office_holds_a_document", [False, True])
def test_two_uploads_at_once_cannot_both_pass_the_quota(
        h: Any, monkeypatch: pytest.MonkeyPatch, office_holds_a_document: bool) -> None:
    """The first upload holds its transaction open after taking its quota; the second one
    is seen waiting on the office's usage row, then the first commits: the second is
    refused, and the office holds exactly the quota."""
    monkeypatch.setenv("DOCUMENT_QUOTA_BYTES", "1000")
    if office_holds_a_document:
        upload(h, content=samples.of_size(100), name="before.txt")
    start = used(h)
    with Session(h.engine) as first:
        ctx = OfficeCtx(first, Vault(h.ring, first), clock.now(), lambda *a: None)
        documents.upload(ctx, "u1", "net-1", "first.txt", b64(samples.of_size(600)), False)
        second = eventlet.spawn(upload, h, content=samples.of_size(600), name="second.txt")
        wait_for(lambda: _waiting_on_a_lock(h), what="the second upload waiting on the quota")
        first.commit()
    with pytest.raises(Conflict) as refused:
        second.wait()
    assert refused.value.code == "document_quota_exceeded"
    assert used(h) == start + 600
    names = {h.run(documents.download, "u1", str(r.id))["name"] for r in raw_rows(h)}
    assert "first.txt" in names and "second.txt" not in names


def test_another_users_document_is_not_found_whatever_the_call(h: Any) -> None:
    doc = upload(h, owner="u1")
    for call in (lambda: h.run(documents.download, "u2", doc["id"]),
                 lambda: h.run(documents.delete_one, "u2", doc["id"]),
                 lambda: h.run(documents.set_shared, "u2", doc["id"], True),
                 lambda: h.run(documents.download, "u2", str(uuid.uuid4())),
                 lambda: h.run(documents.download, "u1", "not-a-uuid")):
        with pytest.raises(NotFound) as missing:
            call()
        assert missing.value.message == "No such document"
    assert h.run(documents.list_mine, "u2", None, 50)["items"] == []
    assert len(raw_rows(h)) == 1


def test_only_shared_documents_of_the_members_network_reach_its_admin(h: Any) -> None:
    kept = upload(h, owner="u1", name="privé.pdf")
    shared = upload(h, owner="u1", name="partagé.pdf", shared=True)
    assert [d["id"] for d in h.run(documents.list_shared, "u1", "net-1", None, 50)["items"]] \
        == [shared["id"]]
    with pytest.raises(NotFound):
        h.run(documents.download_shared, "u1", "net-1", kept["id"])
    with pytest.raises(NotFound):  # an admin of another network
        h.run(documents.download_shared, "u1", "net-2", shared["id"])
    got = h.run(documents.download_shared, "u1", "net-1", shared["id"])
    assert base64.b64decode(got["data"]) == samples.PDF
    h.run(documents.set_shared, "u1", shared["id"], False)
    assert h.run(documents.list_shared, "u1", "net-1", None, 50)["items"] == []


def test_the_end_of_contract_describes_then_destroys_the_documents(h: Any) -> None:
    upload(h, owner="u1", name="contrat.pdf")
    upload(h, owner="u2", name="autre.pdf")
    h.run(end_of_contract.on_data_requested, {"contract_id": "c-1", "user_id": "u1"})
    (report,) = h.events_of("controller_data_reported")
    assert [d["name"] for d in report["data"]["documents"]] == ["contrat.pdf"]
    h.run(end_of_contract.on_shred_requested, {"contract_id": "c-1", "user_id": "u1"})
    (shredded,) = h.events_of("controller_data_shredded")
    assert shredded["counts"]["documents"] == 1
    assert {r.owner_id for r in raw_rows(h)} == {"u2"} and used(h, "u1") == 0


# --- the entrypoints in a running container -----------------------------------------------

def client(stack: Any, user_id: str = "u1", role: str = "user", network: str = "net-1",
           permissions: tuple[str, ...] | None = tuple(ALL)) -> RpcClient:
    return RpcClient(stack.uri, principal=Principal(user_id, role, network, permissions))


def test_adding_sharing_and_deleting_need_manage_documents(stack: Any) -> None:
    with client(stack) as allowed:
        doc = allowed.leads.document_upload("notes.txt", b64(samples.TEXT), False)
    without = tuple(p for p in ALL if p != MANAGE_DOCUMENTS)
    with client(stack, permissions=without) as limited:
        for call in (lambda: limited.leads.document_upload("x.txt", b64(samples.TEXT), False),
                     lambda: limited.leads.document_set_shared(doc["id"], True),
                     lambda: limited.leads.document_delete(doc["id"])):
            with pytest.raises(PermissionDenied) as denied:
                call()
            assert denied.value.permission == MANAGE_DOCUMENTS
        # their documents stay theirs to read
        assert [d["id"] for d in limited.leads.document_list()["items"]] == [doc["id"]]
        back = limited.leads.document_download(doc["id"])
        assert base64.b64decode(back["data"]) == samples.TEXT
    with client(stack, "u2") as other:
        with pytest.raises(NotFound):
            other.leads.document_download(doc["id"])
        with pytest.raises(NotFound):
            other.leads.document_delete(doc["id"])
    with client(stack) as allowed:
        assert allowed.leads.document_delete(doc["id"])["deleted"] is True


def test_the_admin_sees_shared_documents_only_while_admin_access_is_on(stack: Any,
                                                                      fake: Any) -> None:
    fake["admins"]["a1"] = "net-1"
    fake["members"]["u1"] = {"network": "net-1", "admin_access": True}
    with client(stack) as member:
        member.leads.document_upload("privé.pdf", b64(samples.PDF), False)
        shared = member.leads.document_upload("partagé.png", b64(samples.png()), True)
    with client(stack, "a1", "admin") as admin:
        listed = admin.leads.member_documents("u1")["items"]
        assert [d["id"] for d in listed] == [shared["id"]]
        got = admin.leads.member_document_download("u1", shared["id"])
        assert base64.b64decode(got["data"]) == samples.png()
        fake["members"]["u1"]["admin_access"] = False
        with pytest.raises(Forbidden) as refused:
            admin.leads.member_documents("u1")
        assert refused.value.code == "admin_access_refused"
        with pytest.raises(Forbidden):
            admin.leads.member_document_download("u1", shared["id"])
    with client(stack, "u3") as user, pytest.raises(Forbidden):
        user.leads.member_documents("u1")  # only an admin


def test_a_closed_office_keeps_its_documents_out_of_reach(stack: Any, fake: Any) -> None:
    with client(stack) as member:
        doc = member.leads.document_upload("devis.pdf", b64(samples.PDF), False)
        fake["closed"].add("u1")
        for call in (lambda: member.leads.document_list(),
                     lambda: member.leads.document_download(doc["id"]),
                     lambda: member.leads.document_upload("b.pdf", b64(samples.PDF), False)):
            with pytest.raises(Forbidden) as closed:
                call()
            assert closed.value.code == "office_inactive"
    with stack.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(office_documents)).scalar() == 1


def test_an_ended_offices_documents_go_with_its_leads_term(h: Any) -> None:
    """The retention sweep deletes the documents of an office ended six months ago, to the
    Paris day, and gives their bytes back; an office still open keeps its own."""
    clock.freeze(paris(2025, 6, 1, 10))
    upload(h, owner="u1", name="a.pdf")
    upload(h, owner="u1", name="b.pdf")
    upload(h, owner="u2", name="c.pdf")
    with h.session() as s:
        record_office(s, "u1", False, paris(2025, 8, 31, 23, 30))
        record_office(s, "u2", True, paris(2025, 6, 1, 10))
        s.commit()
    clock.freeze(paris(2026, 2, 27, 23, 59))
    assert retention.sweep(SeparateCtx(h.engine))["documents"] == 0  # type: ignore[arg-type]
    clock.freeze(paris(2026, 2, 28, 0, 1))
    assert retention.sweep(SeparateCtx(h.engine))["documents"] == 2  # type: ignore[arg-type]
    assert {r.owner_id for r in raw_rows(h)} == {"u2"} and used(h, "u1") == 0
    assert used(h, "u2") == len(samples.PDF)
