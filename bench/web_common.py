"""What the public-site and web-office benchmarks share: a network with one subscribed
member on a fresh platform, a cookie session on the web office as a browser gets it, and
the alternating rounds (target, bare echo) that give a ratio measured in the same run."""
from __future__ import annotations

import os
import re
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from bench import load
from bench.me import echo_process
from bench.stack import drop_vhost, fresh_platform
from tools.api_client import Api, Mailbox, onboard, subscribe_by_card
from tools.platform import DEV_STAFF, Platform

ADMIN_PASSWORD = "Violet-Tractor-Mango-2026"
MEMBER_PASSWORD = "Distinct-Violet-Pass-77"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
CONCURRENCY = 16
DURATION = float(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


@dataclass
class Network:
    platform: Platform
    staff: Api
    admin: Api
    member: Api
    member_id: str
    network_id: str
    member_email: str
    admin_email: str


@contextmanager
def network_platform(suffix: str, **extra_env: str) -> Iterator[Network]:
    """A fresh platform; staff create a network and its admin, the admin invites one
    member, who subscribes by card (an open office: a site is live, the office usable)."""
    suffix += os.environ.get("SUIVI_TEST_DB_SUFFIX", "")  # helpers share one cluster
    platform = fresh_platform(suffix, **extra_env)
    platform.start()
    try:
        mailbox = Mailbox(platform.var_dir / "mail")
        staff = Api(platform.url).login(*DEV_STAFF)
        admin_email, member_email = f"admin{suffix}@example.org", f"member{suffix}@example.org"
        staff.post("/api/networks", {"name": f"Bench {suffix}", "admin": {
            "email": admin_email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
        admin = onboard(platform.url, mailbox, admin_email, ADMIN_PASSWORD)
        admin.put("/api/network/settings", {"open_countries": ["FR"]})
        member_id = admin.post("/api/network/members", {
            "email": member_email, "first_name": "Bruno", "last_name": "Durand"},
            expect=201)["id"]
        member = onboard(platform.url, mailbox, member_email, MEMBER_PASSWORD)
        subscribe_by_card(member, "monthly")
        yield Network(platform, staff, admin, member, str(member_id),
                      str(admin.get("/api/network")["id"]), member_email, admin_email)
    finally:
        platform.stop()
        drop_vhost(platform.vhost)
        platform.drop_capture_user()


def web_session(base_url: str, email: str, password: str) -> requests.Session:
    """Log in through the /web login form (CSRF cookie and field), as a browser does."""
    s = requests.Session()
    s.trust_env = False
    page = s.get(base_url + "/web/login", timeout=30)
    csrf = CSRF_FIELD.search(page.text)
    assert csrf, page.text[:500]
    r = s.post(base_url + "/web/login", data={"email": email, "password": password,
                                              "next": "/web/", "csrf": csrf.group(1)},
               allow_redirects=False, timeout=30)
    assert r.status_code == 303 and s.cookies.get("suivi_session"), (r.status_code, r.text[:500])
    return s


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def against_echo(label: str, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """``ROUNDS`` alternating rounds of the target and of the bare echo (stock
    ``ServiceRpc``) at ``CONCURRENCY`` connections; the ratio is the median of the
    per-round ratios (the shared machine's speed drifts between rounds)."""
    with echo_process("EchoGateway", "/echo") as echo_url:
        targets = {"echo": (echo_url, {}), label: (url, headers)}
        for u, h in targets.values():  # warm-up
            load.run(u, concurrency=CONCURRENCY, duration=2, headers=h)
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for _ in range(ROUNDS):
            for name, (u, h) in targets.items():
                rounds[name].append(load.run(u, concurrency=CONCURRENCY, duration=DURATION,
                                             headers=h))
    ratios = [t["rps"] / e["rps"] for t, e in zip(rounds[label], rounds["echo"], strict=True)]
    result: dict[str, Any] = {
        name: {k: round(statistics.median(r[k] for r in rs), 1)
               for k in ("rps", "p50_ms", "p99_ms", "errors")} for name, rs in rounds.items()}
    result.update(rounds=rounds, ratio=round(statistics.median(ratios), 2),
                  ratio_rounds=[round(r, 2) for r in ratios], load_average=os.getloadavg())
    for name in targets:
        m = result[name]
        print(f"  {name}: {m['rps']:.0f} req/s p50 {m['p50_ms']:.1f} ms p99 {m['p99_ms']:.1f} ms "
              f"errors {m['errors']:.0f} (median of {ROUNDS} rounds)", flush=True)
    print(f"  ratio vs bare echo: {result['ratio']} (rounds {result['ratio_rounds']}); "
          f"load average {result['load_average']}", flush=True)
    return result
