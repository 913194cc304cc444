"""One office export in flight per user (issue 14 §3), over HTTP on the real platform.

The first export is held in flight without timing: the test locks ``office_leads`` in the
leads database, so the export that has taken its slot waits on its first read of the
leads; the test waits until leads reports that slot held (``pg_locks``), then asks again."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from sqlalchemy import create_engine

from leads.office_testing import export_builds, office_leads_held
from suivi_common.testing.waiting import wait_for
from tests.e2e.scenario import step
from tools.api_client import Api, subscribe_by_card
from tools.platform import Platform


def export(api: Api, fmt: str = "xlsx") -> requests.Response:
    return requests.get(f"{api.base_url}/api/leads/export.{fmt}", timeout=120,
                        headers={"Authorization": f"Bearer {api.token}"})


def test_a_second_parallel_export_gets_429(platform: Platform, make_network: Any,
                                           invite_member: Any) -> None:
    _, admin = make_network()
    _, user = invite_member(admin)
    _, other = invite_member(admin)
    for member in (user, other):
        subscribe_by_card(member, "monthly")
    user_id, other_id = user.get("/api/me")["id"], other.get("/api/me")["id"]
    engine = create_engine(platform.db_url("leads"))
    try:
        with ThreadPoolExecutor(2) as pool:
            with step("while the first export is being built, a second one is a 429"):
                with office_leads_held(engine):
                    first = pool.submit(export, user)
                    wait_for(lambda: export_builds(engine, user_id) == 1, what="export in flight")
                    second = export(user, "csv")
                    assert second.status_code == 429, second.text
                    assert int(second.headers["Retry-After"]) > 0
                    error = second.json()["error"]
                    assert error["code"] == "export_in_progress" and error["message"]
                    their = pool.submit(export, other)  # another user is not held up
                    wait_for(lambda: export_builds(engine, other_id) == 1,
                             what="the other user's export in flight")
                assert first.result().status_code == 200
                assert their.result().status_code == 200
            with step("once the first is done, a new export works"):
                assert export(user, "csv").status_code == 200
    finally:
        engine.dispose()
