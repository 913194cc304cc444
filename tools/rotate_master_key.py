"""Re-wrap every service's data keys under the new master key, while the platform runs.

    python -m tools.rotate_master_key [--amqp-uri URI] [--services accounts,leads]

Run it once every service has restarted with the new key as ``SUIVI_MASTER_KEY`` and the
old one in ``SUIVI_MASTER_KEYS_PREVIOUS`` (README, "Rotating keys"). It calls each
service's ``rewrap_data_keys`` RPC as staff (signed with the platform's principal key,
``SUIVI_PRINCIPAL_KEY`` or its dev file), prints the counts, and exits 0 only when every
service runs on one and the same master key and has no key left under an old one. It is
idempotent and resumable: run it again after a failure, it re-wraps only what is left.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import suivi_common
from suivi_common.identity import Principal
from suivi_common.principals import load_principal_key
from suivi_common.rpc import RpcClient

OPERATOR = Principal(user_id="operator:rotate-keys", role="staff")


def rewrap_all(amqp_uri: str, services: tuple[str, ...], key: bytes | None = None,
               timeout: float = 600.0) -> list[dict[str, Any]]:
    """Each service's report (``suivi_common.key_rotation.rewrap_data_keys``)."""
    with RpcClient(amqp_uri, principal=OPERATOR, key=key or load_principal_key(),
                   timeout=timeout) as rpc:
        return [dict(getattr(rpc, service).rewrap_data_keys()) for service in services]


def problems(reports: list[dict[str, Any]]) -> list[str]:
    """Why the rotation is not finished yet (empty: the previous keys can leave the config)."""
    out = []
    if len({r["master_key_id"] for r in reports}) > 1:
        out.append("the services do not all run on the same master key: restart them first")
    out += [f"{r['service']}: {r['left_under_old_master']} key(s) still under an old master key"
            for r in reports if r["left_under_old_master"]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI",
                                                             "amqp://guest:guest@localhost"))
    parser.add_argument("--services", default=",".join(suivi_common.SERVICES))
    args = parser.parse_args(argv)
    reports = rewrap_all(args.amqp_uri, tuple(s for s in args.services.split(",") if s))
    for report in reports:
        print(json.dumps(report, sort_keys=True))
    issues = problems(reports)
    for issue in issues:
        print(f"not finished: {issue}", file=sys.stderr)
    if not issues:
        print(f"done: {sum(r['rewrapped'] for r in reports)} key(s) re-wrapped; the previous "
              "master keys can now leave SUIVI_MASTER_KEYS_PREVIOUS", file=sys.stderr)
    return 1 if issues else 0


if __name__ == "__main__":
    raise SystemExit(main())
