"""An outside test suite: schemathesis generates requests from the running platform's
``/openapi.json``, once with a user's, an admin's and a staff token, and holds every answer
to two checks: no server error, and only statuses the document lists.

Bounded in ``make test``: deterministic generation with a fixed seed, one worker, no timing
check, and each operation tested once, with the least privileged role that may call it
(anonymous ones with the staff token). ``make fuzz`` (``SUIVI_FUZZ=long``) runs every
phase with many more cases, and each token over every operation its role may call. Left
out: operations that would disturb the shared platform or end the run's own session
(``EXCLUDED``).
Schemathesis runs as a process of its own against the loopback address: nothing is fetched
from the network, nothing is cached between runs.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.api_client import Api, subscribe_by_card
from tools.platform import DEV_STAFF

LONG = os.environ.get("SUIVI_FUZZ") == "long"
# (phases, cases per operation and phase): the coverage phase walks each schema's boundaries
# deterministically; the fuzzing phase draws from the seed.
BOUNDED = ("fuzzing", 15)
EXTENDED = ("examples,coverage,fuzzing,stateful", 150)
SEED = 20260301
EXCLUDED = {
    "set_clock", "reset_clock",  # the dev clock is the whole platform's
    "logout", "terminate",  # would end the run's own session or account
    "publish_terms",  # every member would have to accept again
    "close_day", "declare_sales_closure",  # move every plan of the platform
}
# Each role's run says it comes from an address of its own (TRUSTED_PROXIES trusts the
# loopback here), so its failed logins never slow down the other tests' logins.
ADDRESSES = {"user": "198.51.100.201", "admin": "198.51.100.202", "staff": "198.51.100.203"}


ROLES = ("user", "admin", "staff")  # least privileged first


def operations_for(doc: dict[str, Any], role: str, each_once: bool) -> list[str]:
    """The operation ids a principal of ``role`` may call; anonymous ones go with staff.
    ``each_once``: only those no less privileged role may call."""
    chosen = []
    for ops in doc["paths"].values():
        for op in ops.values():
            if op["operationId"] in EXCLUDED:
                continue
            auth, roles = op.get("x-auth", "none"), op.get("x-roles", [])
            if auth == "none":
                allowed = ["staff"]
            else:
                allowed = [r for r in ROLES if not roles or r in roles]
            if role in allowed and (not each_once or allowed[0] == role):
                chosen.append(op["operationId"])
    return sorted(chosen)


def caller(role: str, base_url: str, make_network: Any, invite_member: Any) -> Api:
    if role == "staff":
        return Api(base_url).login(*DEV_STAFF)
    _, admin = make_network()
    if role == "admin":
        subscribe_by_card(admin)
        return admin
    _, member = invite_member(admin)
    subscribe_by_card(member)
    return member


def schemathesis(base_url: str, token: str, role: str, operation_ids: list[str],
                 workdir: Path) -> subprocess.CompletedProcess[str]:
    phases, cases = EXTENDED if LONG else BOUNDED
    config = workdir / "schemathesis.toml"
    config.write_text("[cache]\nenabled = false\n")
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(config),
               "--no-color", "run", f"{base_url}/openapi.json",
               "--header", f"Authorization: Bearer {token}",
               "--header", f"X-Forwarded-For: {ADDRESSES[role]}",
               "--checks", "not_a_server_error,status_code_conformance",
               "--phases", phases, "--max-examples", str(cases),
               "--seed", str(SEED), "--generation-deterministic",
               "--suppress-health-check", "all",
               "--workers", "1", "--request-timeout", "120", "--max-failures", "20"]
    for operation_id in operation_ids:
        command += ["--include-operation-id", operation_id]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(NO_PROXY="*", NO_COLOR="1", COLUMNS="200")
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=3 * 3600 if LONG else 900)


@pytest.mark.parametrize("role", ["user", "admin", "staff"])
def test_the_api_keeps_to_its_document_under_generated_requests(
        role: str, base_url: str, make_network: Any, invite_member: Any,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = caller(role, base_url, make_network, invite_member)
    doc = Api(base_url).get("/openapi.json")
    chosen = operations_for(doc, role, each_once=not LONG)
    proc = schemathesis(base_url, api.token or "", role, chosen, tmp_path)
    output = proc.stdout + proc.stderr
    generated = re.search(r"(\d+) generated", output)
    with capsys.disabled():
        print(f"\nschemathesis ({role}): {len(chosen)} operations, "
              f"{generated.group(1) if generated else '?'} cases generated")
    assert proc.returncode == 0, output[-12000:]
    assert generated and int(generated.group(1)) > 0, output[-4000:]
    assert "Failures:" not in output, output[-12000:]
