"""Issue 15: every main page of the web office weighs under 150 KB gzip-compressed, its HTML
plus the stylesheets and scripts it links, fetched as a browser on a cold cache would
(``bench.page_weight``, also run by ``make bench``). Not timed: the figure depends on the
templates and static files only, so an over-weight page fails here, on every run."""
from __future__ import annotations

from typing import Any

from bench.page_weight import TARGET_BYTES, a_lead, report, weigh_all
from tools.api_client import Api, subscribe_by_card
from tools.platform import DEV_STAFF

ADMIN_PASSWORD = "Correct-Horse-Battery-42"
MEMBER_PASSWORD = "Distinct-Violet-Pass-77"


def test_every_main_web_page_weighs_under_150_kb_gzipped(
        base_url: str, staff: Api, make_network: Any, invite_member: Any) -> None:
    _, admin = make_network(countries=["FR"])
    _, member = invite_member(admin, MEMBER_PASSWORD)
    subscribe_by_card(member, "monthly")
    rows = weigh_all(base_url, staff, DEV_STAFF, (admin.email, ADMIN_PASSWORD),
                     (member.email, MEMBER_PASSWORD), a_lead(member))
    report(rows)
    assert len(rows) == 19
    assert all(r["assets"] for r in rows), [r["page"] for r in rows if not r["assets"]]
    over = [(r["page"], r["gzip_bytes"]) for r in rows if r["gzip_bytes"] >= TARGET_BYTES]
    assert over == [], over
