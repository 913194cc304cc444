"""The web office's leads list (issue 15 §Benchmarks): ``GET /web/office`` rendered by the
server, with ``BENCH_WEB_LEADS`` (100,000) leads in the member's office.

Steps (``run``):

1. a fresh platform; staff create a network, its admin and one member, who subscribes by
   card (``bench.web_common.network_platform``);
2. the member's office gets ``BENCH_WEB_LEADS`` leads straight into the platform's leads
   database, set-based as ``bench.office`` does it: rows built by ``leads.office_testing
   .bulk_rows`` (encrypted exactly as the use cases do, with the platform's own master key
   read from its key file), written with COPY in batches of 10,000, then ``ANALYZE``;
   80 % bought, 20 % personal, 6 statuses, created over 180 days;
3. the member logs in through the /web login form (the session cookie, as a browser);
   ``GET /web/office`` (first page, 25 leads: gateway → leads ``office_get_pipeline`` and
   ``office_list_leads`` → the Jinja page) at 16 keep-alive connections with that cookie,
   against the bare Nameko ``@http`` → RPC echo in alternating rounds. Target: ≥ 0.5 of
   the echo's req/s, p99 < 100 ms.
"""
from __future__ import annotations

import base64
import json
import os
import random
import time
from typing import Any

import psycopg
import requests
from sqlalchemy import create_engine, text

from bench.office import COLUMNS, _items
from bench.web_common import (
    MEMBER_PASSWORD,
    Network,
    against_echo,
    cookie_header,
    network_platform,
    web_session,
)
from leads import office_testing as testing

LEADS = int(os.environ.get("BENCH_WEB_LEADS", "100000"))
BATCH = 10_000


def seed(net: Network) -> dict[str, Any]:
    url = net.platform.db_url("leads")
    master = base64.b64decode((net.platform.var_dir / "master.key").read_text().strip())
    engine = create_engine(url)
    h = testing.Harness(engine, master_key=master)
    rng = random.Random(7)
    started = time.perf_counter()
    with h.session() as session:
        vault = h.vault(session)
        with psycopg.connect(url.replace("+psycopg", "")) as conn:
            for start in range(0, LEADS, BATCH):
                rows = testing.bulk_rows(vault, owner_id=net.member_id,
                                         network_id=net.network_id,
                                         items=_items(min(BATCH, LEADS - start), rng, start))
                # the columns bulk_rows fills (the others keep their defaults)
                columns = [c for c in COLUMNS if c in rows[0]]
                with conn.cursor().copy(
                        f"COPY office_leads ({', '.join(columns)}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row([r[c] for c in columns])
            conn.commit()
        session.commit()  # the network's data key, if this created it
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE office_leads"))
    engine.dispose()
    return {"leads": LEADS, "seed_seconds": round(time.perf_counter() - started, 1)}


def run() -> dict[str, Any]:
    with network_platform("_bench_web") as net:
        seeded = seed(net)
        print(f"  seeded: {seeded}", flush=True)
        assert net.member.get("/api/leads?limit=1")["items"], "the seeded leads are not listed"
        web = web_session(net.platform.url, net.member_email, MEMBER_PASSWORD)
        url = net.platform.url + "/web/office"
        first = web.get(url, allow_redirects=False, timeout=30)
        assert first.status_code == 200 and "/web/office/leads/" in first.text, (
            first.status_code, first.text[:1000])
        rows = first.text.count('href="/web/office/leads/')
        print(f"  GET /web/office: {len(first.content)} bytes, {rows} lead links", flush=True)
        headers = {"Cookie": cookie_header(web)}
        result = against_echo("web_office", url, headers)
        check = requests.get(url, headers=headers, allow_redirects=False, timeout=30)
        assert check.status_code == 200, check.status_code  # still logged in at the end
    result.update(seed=seeded, page_bytes=len(first.content), lead_links=rows,
                  targets={"ratio_at_least": 0.5, "p99_under_ms": 100})
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
