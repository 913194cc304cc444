"""A real gateway process in production (SUIVI_ENV unset) with good secrets: it serves, the
dev clock does not exist, and every answer carries the security headers, HSTS included
since its public URL is https. No service runs: the gateway alone is under test."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from suivi_common.testing import infra
from suivi_common.testing.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
http = requests.Session()
http.trust_env = False  # never route loopback calls through a proxy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    vhost = infra.fresh_vhost()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SUIVI_ENV"}
    env.update(PSYCOPG_WAIT_FUNC="wait_select", AMQP_URI=infra.amqp_uri(vhost),
               GATEWAY_BIND="127.0.0.1", GATEWAY_PORT=str(port),
               CARD_PROVIDER_SECRET=os.urandom(24).hex(), SUIVI_PRINCIPAL_KEY=os.urandom(24).hex(),
               PUBLIC_URL="https://suivi.example.com",
               SUIVI_DEV_CLOCK_FILE=str(tmp_path_factory.mktemp("prod") / "clock.json"))
    log = open(tmp_path_factory.mktemp("prod-log") / "gateway.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config",
                             "gateway/config.yaml", "gateway.service:GatewayService"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def serving() -> bool:
            assert proc.poll() is None, f"the gateway exited with {proc.returncode}"
            try:
                http.get(url + "/openapi.json", timeout=30)
            except requests.RequestException:  # not listening yet, or too busy to answer
                return False
            return True
        wait_for(serving, timeout=90, interval=0.2, what="the gateway serving")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        infra.delete_vhost(vhost)


@pytest.mark.parametrize("method", ["POST", "DELETE", "OPTIONS"])
def test_the_dev_clock_does_not_exist(gateway: str, method: str) -> None:
    resp = http.request(method, gateway + "/api/dev/clock",
                            json={"now": "2030-01-01T00:00:00+00:00"}, timeout=30)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "route_not_found"


def test_the_document_leaves_the_dev_clock_out(gateway: str) -> None:
    paths = http.get(gateway + "/openapi.json", timeout=30).json()["paths"]
    assert "/api/dev/clock" not in paths and "/api/auth/login" in paths


def test_every_answer_carries_the_security_headers_and_hsts(gateway: str) -> None:
    for resp in (http.get(gateway + "/openapi.json", timeout=30),
                 http.get(gateway + "/api/nowhere", timeout=30),
                 http.get(gateway + "/api/me", timeout=30)):
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        assert resp.headers["Content-Type"] == "application/json"
