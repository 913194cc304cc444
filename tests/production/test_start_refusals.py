"""Real starts of platform processes in production (the default): a missing or committed
secret stops the process at once, with one line naming the variable and no traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = os.urandom(24).hex()
SECRETS = ("CARD_PROVIDER_SECRET", "SUIVI_MASTER_KEY", "SUIVI_PRINCIPAL_KEY")


def start(config: str, target: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``nameko run`` as deploy files do, with SUIVI_ENV unset (production by default); the
    broker address is a closed port, so a process that did not refuse would never come up."""
    base = {k: v for k, v in os.environ.items() if k not in ("SUIVI_ENV", *SECRETS)}
    base.update(PSYCOPG_WAIT_FUNC="wait_select", AMQP_URI="amqp://guest:guest@127.0.0.1:9/",
                DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:9/none", **env)
    return subprocess.run([sys.executable, "-m", "nameko", "run", "--config", config, target],
                          cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stdout + proc.stderr).strip().splitlines()[-1]


def test_a_service_without_its_master_key_refuses_to_start() -> None:
    proc = start("services/accounts/config.yaml", "accounts.service:AccountsService",
                 SUIVI_PRINCIPAL_KEY=GOOD)
    assert proc.returncode == 1
    assert last_line(proc) == "refusing to start in production: SUIVI_MASTER_KEY is missing"
    assert "Traceback" not in proc.stdout + proc.stderr


def test_the_gateway_refuses_the_committed_card_secret_and_a_short_principal_key() -> None:
    # CARD_PROVIDER_SECRET unset: gateway/config.yaml falls back to its dev value
    proc = start("gateway/config.yaml", "gateway.service:GatewayService",
                 SUIVI_PRINCIPAL_KEY="0123456789abcdef")
    assert proc.returncode == 1
    line = last_line(proc)
    assert line.startswith("refusing to start in production: ")
    assert "CARD_PROVIDER_SECRET is a known default" in line
    assert "SUIVI_PRINCIPAL_KEY is too short" in line
    assert "SUIVI_MASTER_KEY" not in line  # the gateway keeps no data: it does not use it
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("service", ["plans", "leads", "mailer", "compliance"])
def test_every_service_checks_its_secrets(service: str) -> None:
    proc = start(f"services/{service}/config.yaml",
                 f"{service}.service:{service.capitalize()}Service",
                 SUIVI_MASTER_KEY="c3VpdmktZGV2LW1hc3Rlci1rZXktbm90LXNlY3JldCE=")
    assert proc.returncode == 1
    line = last_line(proc)
    assert "SUIVI_MASTER_KEY is a known default" in line and "SUIVI_PRINCIPAL_KEY is missing" in line


def test_a_bad_trusted_proxies_setting_stops_the_gateway() -> None:
    proc = start("gateway/config.yaml", "gateway.service:GatewayService",
                 CARD_PROVIDER_SECRET=GOOD, SUIVI_PRINCIPAL_KEY=GOOD, TRUSTED_PROXIES="eth0")
    assert proc.returncode == 1
    assert last_line(proc).startswith("refusing to start: TRUSTED_PROXIES: 'eth0'")
