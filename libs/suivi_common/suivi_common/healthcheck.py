"""``python -m suivi_common.healthcheck <service>``: exit 0 if the service answers its
health RPC over AMQP. Used by container probes, since services listen on AMQP only.

Anonymous (health is public) and through ``suivi_common.rpc.RpcClient``, whose reply
queue lives and dies with its one connection."""
from __future__ import annotations

import os
import sys

from suivi_common.rpc import RpcClient


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m suivi_common.healthcheck <service>", file=sys.stderr)
        return 2
    uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    try:
        with RpcClient(uri, timeout=5) as rpc:
            reply = rpc[argv[1]].health()
    except Exception as exc:  # any failure means unhealthy
        print(f"unhealthy: {exc!r}", file=sys.stderr)
        return 1
    print(reply)
    return 0 if reply.get("status") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
