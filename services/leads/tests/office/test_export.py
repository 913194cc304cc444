"""The export (terms 3.B.iv, 8.A.5): opens with openpyxl, the caller's leads only, their
initial data and current status, the listing's filters, every export logged."""
from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime
from typing import Any

import eventlet
import pytest
from nameko import config
from openpyxl import load_workbook
from sqlalchemy import func, select

from leads.models import office_export_chunks, office_exports
from leads.office_testing import (
    Harness,
    deliver,
    export_builds,
    office_leads_held,
    raw_lead,
    user,
)
from leads.settings import TUNABLES
from leads.usecases.office import export, one_lead
from suivi_common import clock
from suivi_common.errors import Invalid, NotFound, RateLimited
from suivi_common.testing.waiting import wait_for

U1 = user("u1")


def download(h: Harness, owner: str, job: dict[str, Any]) -> bytes:
    parts, n = [], 0
    while True:
        piece = h.run(export.chunk, owner, job["export_id"], n, actor=user(owner))
        parts.append(base64.b64decode(piece["data"]))
        n += 1
        if piece["last"]:
            return b"".join(parts)


def start(h: Harness, owner: str = "u1", filters: dict[str, Any] | None = None,
          fmt: str = "xlsx", lang: str | None = None) -> dict[str, Any]:
    return h.run(export.start, owner, "net-1", filters, fmt, lang, actor=user(owner))


@pytest.fixture
def office(h: Harness) -> tuple[str, str]:
    clock.freeze(datetime(2025, 6, 2, 8, 30, tzinfo=UTC))
    a = deliver(h, owner_id="u1", raw=raw_lead(1, last_name="Durand", first_name="Élise",
                                               landline="01 44 55 66 77"))
    clock.freeze(datetime(2025, 6, 2, 8, 31, tzinfo=UTC))
    b = h.run(one_lead.create_personal, "u1", "net-1",
              raw_lead(2, last_name="Petit", city="Lyon", postal_code="69001"), actor=U1)["id"]
    deliver(h, owner_id="u2", raw=raw_lead(3, last_name="Autre"))
    h.run(one_lead.update_lead, "u1", a, {"last_name": "Durand-Moreau"}, actor=U1)
    h.run(one_lead.change_status, "u1", a, "meeting", actor=U1)
    return a, b


def test_xlsx_holds_the_callers_initial_data_and_status(h: Harness, office: tuple[str, str]) -> None:
    job = start(h)
    assert job["rows"] == 2 and job["filename"].endswith(".xlsx") and job["lang"] == "fr"
    ws = load_workbook(io.BytesIO(download(h, "u1", job)), read_only=True).active
    rows = list(ws.values)
    assert rows[0] == export.HEADERS["fr"]
    # e-mails sent: none, so no last date; the office kind last (issue 13 §1)
    assert rows[1] == (datetime(2025, 6, 2, 10, 30), "Durand", "Élise", "lead1@example.fr",
                       "+33600000001", "+33144556677", "75011", "Paris", "meeting", 0, None,
                       "construction")
    assert rows[2][1] == "Petit" and rows[2][7] == "Lyon" and rows[2][8] == "new"
    assert len(rows) == 3  # u2's lead is not there


def test_filters_language_and_csv(h: Harness, office: tuple[str, str]) -> None:
    job = start(h, filters={"origin": "personal"}, fmt="csv", lang="en")
    rows = list(csv.reader(io.StringIO(download(h, "u1", job).decode("utf-8-sig"))))
    assert rows[0] == list(export.HEADERS["en"]) and len(rows) == 2 and rows[1][1] == "Petit"
    job = start(h, filters={"email": "lead1@example.fr"}, lang="en")
    ws = load_workbook(io.BytesIO(download(h, "u1", job))).active
    assert [r[1] for r in ws.values] == ["Last name", "Durand"]
    with pytest.raises(Invalid):
        start(h, fmt="pdf")
    # the office kind filters the export as it filters the listing (issue 13 §1)
    assert start(h, filters={"kind": "construction"}, fmt="csv")["rows"] == 2
    assert start(h, filters={"kind": "distribution"}, fmt="csv")["rows"] == 0
    with pytest.raises(Invalid) as bad:
        start(h, filters={"kind": "shop"}, fmt="csv")
    assert bad.value.fields == {"kind": "distribution or construction"}


def test_every_export_is_logged_and_downloaded_once(h: Harness, office: tuple[str, str]) -> None:
    job = start(h, filters={"email": "lead1@example.fr", "status": "meeting"})
    assert job["rows"] == 1
    with h.session() as s:
        log = s.execute(select(office_exports)).one()
    assert (log.user_id, log.rows, log.format) == ("u1", 1, "xlsx")
    assert log.filters == {"email": True, "status": "meeting"}  # the searched person is not logged
    assert log.created_at is not None and log.downloaded_at is None
    download(h, "u1", job)
    with h.session() as s:
        assert s.execute(select(func.count()).select_from(office_export_chunks)).scalar() == 0
        assert s.execute(select(office_exports.c.downloaded_at)).scalar() is not None
    with pytest.raises(NotFound):
        h.run(export.chunk, "u1", job["export_id"], 0, actor=U1)


def test_another_user_cannot_fetch_an_export(h: Harness, office: tuple[str, str]) -> None:
    job = start(h)
    with pytest.raises(NotFound):
        h.run(export.chunk, "u2", job["export_id"], 0, actor=user("u2"))
    with pytest.raises(NotFound):
        h.run(export.chunk, "u1", "not-an-id", 0, actor=U1)


def test_a_big_file_comes_in_pieces(h: Harness) -> None:
    clock.freeze(datetime(2025, 6, 2, 8, 30, tzinfo=UTC))
    for i in range(30):
        deliver(h, owner_id="u1", i=i)
    with config.patch({"OFFICE_EXPORT_CHUNK_BYTES": 1024, "OFFICE_EXPORT_BATCH": 7}):
        job = start(h, fmt="csv")
        assert job["chunks"] > 1 and job["rows"] == 30
        body = download(h, "u1", job)
    assert len(body) == job["bytes"]
    assert len(list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))) == 31


def test_one_export_in_flight_per_user(h: Harness, office: tuple[str, str]) -> None:
    """Two parallel exports by one user (two sessions, as two instances would run them):
    exactly one builds, the other is a 429 with a wait; another user is not held up; once
    the first is done a new one builds."""
    with office_leads_held(h.engine):
        first = eventlet.spawn(start, h)
        wait_for(lambda: export_builds(h.engine, "u1") == 1, what="u1's first export in flight")
        with pytest.raises(RateLimited) as refused:
            start(h, fmt="csv")
        assert refused.value.code == "export_in_progress"
        assert refused.value.retry_after == TUNABLES.get_int("OFFICE_EXPORT_RETRY_AFTER_SECONDS")
        other = eventlet.spawn(start, h, "u2")
        wait_for(lambda: export_builds(h.engine, "u2") == 1, what="u2's export in flight")
    assert first.wait()["rows"] == 2 and other.wait()["rows"] == 1
    with h.session() as s:  # the refused one left no trace
        assert s.execute(select(func.count()).select_from(office_exports)).scalar() == 2
    assert export_builds(h.engine, "u1") == 0
    assert start(h, fmt="csv")["rows"] == 2


def test_a_failed_export_frees_the_slot(h: Harness, office: tuple[str, str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> int:
        assert export_builds(h.engine, "u1") == 1  # it failed holding its slot
        raise OSError("disk full")

    monkeypatch.setattr(export, "write_file", broken)
    with pytest.raises(OSError):
        start(h)
    monkeypatch.undo()
    assert export_builds(h.engine, "u1") == 0 and start(h)["rows"] == 2
