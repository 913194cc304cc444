"""How every dev fake's HTTP server runs: in a daemon thread (tests, the platform) or in
the foreground until Ctrl-C or SIGTERM (its command line, PID 1 in a container).

The fakes are loaded as scripts and by path (``tools/fakes`` is not a package), so each
imports this module by its own directory.
"""
from __future__ import annotations

import argparse
import logging
import signal
import threading
from socketserver import BaseServer


def parser(doc: str | None, host: str, port: int) -> argparse.ArgumentParser:
    """A fake's command line: its module docstring's first line, ``--host`` and ``--port``."""
    p = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    p.add_argument("--host", default=host, help="address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=port, help="port (default %(default)s)")
    return p


def in_thread(server: BaseServer, name: str) -> threading.Thread:
    """Serve in a started daemon thread; stop with ``server.shutdown(); server.server_close()``."""
    # A short poll interval keeps shutdown() (test teardown) fast.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=name, daemon=True)
    thread.start()
    return thread


def until_stopped(server: BaseServer) -> int:
    """Serve until Ctrl-C or SIGTERM, then close; the process's exit status."""
    def _terminate(*_: object) -> None:
        # As PID 1 in a container, SIGTERM is ignored unless handled.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def log_setup() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
