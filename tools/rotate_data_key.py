"""Rotate one network's data key in leads, while the platform runs.

    python -m tools.rotate_data_key --network NETWORK_ID [--wait SECONDS] [--amqp-uri URI]

Calls leads' staff RPCs in order (``leads.usecases.key_rotation``): a new key version
for the network; a wait while every process picks it up (its key cache,
``KEY_CACHE_SECONDS``, plus a margin); the network's captured leads resealed under it,
500 rows a transaction; the rest (office rows still under the network's key, their claims
and exports, the controller keys the network's key wraps); and once nothing is left under
the old version, its retirement. Prints one JSON line a step; exits 0 once retired. Safe
to run again after a failure: every step is idempotent and it resumes where it stopped.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

from suivi_common.principals import load_principal_key
from suivi_common.rpc import RpcClient
from tools.rotate_master_key import OPERATOR

MARGIN_SECONDS = 5.0
ROUNDS = 20


def rotate(leads: Any, network_id: str, wait: float | None = None,
           sleep: Callable[[float], None] = time.sleep,
           report: Callable[[dict[str, Any]], None] = lambda _: None) -> dict[str, Any]:
    """Run the rotation through ``leads`` (an RPC proxy of the leads service); the last
    ``finish`` answer (``done``: the old version is retired)."""
    began = dict(leads.begin_data_key_rotation(network_id))
    report(began)
    sleep(float(began["wait_seconds"]) + MARGIN_SECONDS if wait is None else wait)
    finished: dict[str, Any] = {}
    for _ in range(ROUNDS):
        resealed, after = 0, None
        while True:
            batch = dict(leads.reseal_data_key_batch(network_id, after))
            resealed += int(batch["resealed"])
            after = batch["next"]
            if after is None:
                break
        report({"network_id": network_id, "resealed": resealed})
        finished = dict(leads.finish_data_key_rotation(network_id))
        report(finished)
        if finished["done"]:
            return finished
    return finished


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", required=True)
    parser.add_argument("--wait", type=float, default=None,
                        help="seconds between the new version and the reseal (default: the "
                             "services' key cache time plus a margin)")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI",
                                                             "amqp://guest:guest@localhost"))
    args = parser.parse_args(argv)
    with RpcClient(args.amqp_uri, principal=OPERATOR, key=load_principal_key(),
                   timeout=600) as rpc:
        result = rotate(rpc.leads, args.network, args.wait,
                        report=lambda step: print(json.dumps(step, sort_keys=True), flush=True))
    return 0 if result.get("done") else 1


if __name__ == "__main__":
    raise SystemExit(main())
