"""Start the whole platform locally: migrate, run every service, the gateway and the
dev fakes (SMTP sink, card provider, Google), print where it listens, stop on Ctrl-C.

``make run`` calls ``python -m tools.platform run``; the end-to-end tests drive the
same ``Platform`` class with their own databases, vhost and ports.

Two identities are set up before anything starts: the principal key every process signs
and checks principals with (``SUIVI_PRINCIPAL_KEY``, else generated once into
``var/principal.key``), and the capture sites' broker user, which may only publish to the
capture exchange (``rabbitmqctl``; the e2e platform gets one of its own per vhost).
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import suivi_common

ROOT = Path(__file__).resolve().parent.parent
SERVICES: dict[str, tuple[str, str]] = {  # config, nameko target
    name: (f"services/{name}/config.yaml", f"{name}.service:{name.capitalize()}Service")
    for name in suivi_common.SERVICES}
GATEWAY = ("gateway/config.yaml", "gateway.service:GatewayService")
PG_BASE = os.environ.get("SUIVI_PG_BASE") or (  # as the tests: SUIVI_PG_BASE, else PGPORT
    f"postgresql+psycopg://postgres@127.0.0.1:{os.environ.get('PGPORT', '5432')}")
AMQP_BASE = os.environ.get("SUIVI_AMQP_BASE", "amqp://guest:guest@127.0.0.1:5672")
DEV_STAFF = ("staff@suivi.test", "staff-dev-password-2026")
DEV_CAPTURE_PASSWORD = "suivi-capture-dev-password"
#: The fake Google's OAuth client (tools/fakes/fake_google.py defaults).
FAKE_GOOGLE_CLIENT = ("suivi-local.apps.googleusercontent.test", "fake-google-dev-client-secret-not-secret")

# While the platform starts, a health call to a service not consuming yet is undeliverable;
# the broker's publish confirm then reaches a channel nameko is closing, and py-amqp warns
# ("Received method (60, 80) during closing channel"). Expected here: not worth a line.
logging.getLogger("amqp").addFilter(
    lambda record: "during closing channel" not in str(record.msg))


def check_running(processes: Iterable[tuple[str, subprocess.Popen[bytes]]], log_dir: Path) -> None:
    """Fail at once when a process that should be serving has exited (its log says why)."""
    for name, proc in processes:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see "
                               f"{log_dir / (name + '.log')}")


def wait_rpc_health(amqp_uri: str, services: Iterable[str],
                    processes: Iterable[tuple[str, subprocess.Popen[bytes]]], log_dir: Path,
                    timeout: float = 90.0) -> None:
    """Every one of ``services`` answers its health RPC (through ``RpcClient``, whose reply
    queue cannot outlive, nor kill, anything), while ``processes`` (logs in ``log_dir``) run.
    Shared by this platform and the benchmarks' stacks."""
    from suivi_common.rpc import RpcClient

    deadline = time.monotonic() + timeout
    waiting = list(services)
    while waiting and time.monotonic() < deadline:
        check_running(processes, log_dir)
        try:
            with RpcClient(amqp_uri, timeout=3) as rpc:
                waiting = [s for s in waiting if rpc[s].health().get("status") != "ok"]
        except Exception:  # UnknownService, timeout: not up yet
            pass
        if waiting:
            time.sleep(0.3)
    if waiting:
        raise RuntimeError(f"services not healthy after {timeout}s: {waiting}")


@dataclass
class Platform:
    db_suffix: str = ""
    vhost: str = ""
    gateway_port: int = int(os.environ.get("GATEWAY_PORT", "8000"))
    smtp_port: int = int(os.environ.get("SMTP_PORT", "1025"))
    card_port: int = int(os.environ.get("CARD_PROVIDER_PORT", "8025"))
    #: The fake Google (tools/fakes/fake_google.py); 0: 8026, or a free port on a private vhost.
    google_port: int = int(os.environ.get("FAKE_GOOGLE_PORT", "0"))
    var_dir: Path = ROOT / "var"
    extra_env: dict[str, str] = field(default_factory=dict)
    instances: dict[str, int] = field(default_factory=dict)
    services: tuple[str, ...] = tuple(SERVICES)
    #: The kernel kills every process of the platform if the one that started them dies
    #: (a test run cut short must not leave services behind on its databases).
    die_with_parent: bool = False
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    log_pipes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: The capture sites' broker user: ``CAPTURE_AMQP_USER`` (``suivi-capture``) for
    #: ``make run``; a platform on a vhost of its own (the e2e tests) gets its own user.
    capture_user: str = ""
    capture_password: str = ""

    def __post_init__(self) -> None:
        if not self.google_port:
            self.google_port = _free_port() if self.vhost else 8026
        if not self.capture_user:
            self.capture_user = (f"suivi-capture-{self.vhost}" if self.vhost
                                 else os.environ.get("CAPTURE_AMQP_USER", "suivi-capture"))
        if not self.capture_password:
            # hex: a password starting with "-" is an option to ``rabbitmqctl add_user``
            self.capture_password = (secrets.token_hex(18) if self.vhost else
                                     os.environ.get("CAPTURE_AMQP_PASSWORD", DEV_CAPTURE_PASSWORD))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def amqp_uri(self) -> str:
        return f"{AMQP_BASE}/{self.vhost}"

    @property
    def capture_uri(self) -> str:
        """What a capture site is given: the capture user, on this platform's vhost."""
        broker = urlsplit(AMQP_BASE)
        return (f"amqp://{quote(self.capture_user, safe='')}:{quote(self.capture_password, safe='')}"
                f"@{broker.hostname}:{broker.port or 5672}/{quote(self.vhost or '/', safe='')}")

    @property
    def principal_key_file(self) -> Path:
        return self.var_dir / "principal.key"

    def db_url(self, service: str) -> str:
        return f"{PG_BASE}/{service}{self.db_suffix}"

    def env(self, **more: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PSYCOPG_WAIT_FUNC": "wait_select",
            "PYTHONUNBUFFERED": "1",
            "AMQP_URI": f"{AMQP_BASE}/{self.vhost}",
            "SUIVI_ENV": env.get("SUIVI_ENV", "dev"),
            "GATEWAY_PORT": str(self.gateway_port),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp_port),
            "CARD_PROVIDER_URL": f"http://127.0.0.1:{self.card_port}",
            "CARD_PROVIDER_SECRET": env.get("CARD_PROVIDER_SECRET", "dev-card-secret"),
            "PUBLIC_URL": self.url,
            "SUIVI_MASTER_KEY_FILE": str(self.var_dir / "master.key"),
            "SUIVI_PRINCIPAL_KEY_FILE": str(self.principal_key_file),
            "SUIVI_DEV_CLOCK_FILE": str(self.var_dir / "dev-clock.json"),
            "SUIVI_VAR": str(self.var_dir),
        })
        if not env.get("GOOGLE_CLIENT_ID"):  # dev: Gmail linking against the fake Google
            env.update({"GOOGLE_BASE_URL": f"http://127.0.0.1:{self.google_port}",
                        "GOOGLE_CLIENT_ID": FAKE_GOOGLE_CLIENT[0],
                        "GOOGLE_CLIENT_SECRET": FAKE_GOOGLE_CLIENT[1]})
        env.setdefault("SUIVI_STAFF_EMAIL", DEV_STAFF[0])
        env.setdefault("SUIVI_STAFF_PASSWORD", DEV_STAFF[1])
        env.update(self.extra_env)
        env.update(more)
        return env

    def migrate(self) -> None:
        for service in self.services:
            subprocess.run([sys.executable, "-m", f"{service}.migrate"], cwd=ROOT, check=True,
                           env=self.env(DATABASE_URL=self.db_url(service)))

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        """Start a process whose output goes to ``var/log/<name>.log`` through a
        ``tools.logpipe``, which rotates the file past ``LOG_MAX_BYTES`` (10 MiB), keeping
        ``LOG_BACKUPS`` (2) older files."""
        log_dir = self.var_dir / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        preexec = _die_with_parent if self.die_with_parent else None
        pipe = subprocess.Popen(
            [sys.executable, "-m", "tools.logpipe", str(log_dir / f"{name}.log"),
             "--max-bytes", env.get("LOG_MAX_BYTES", str(10 * 1024 * 1024)),
             "--backups", env.get("LOG_BACKUPS", "2")],
            cwd=ROOT, stdin=subprocess.PIPE, start_new_session=True, preexec_fn=preexec)
        assert pipe.stdin is not None
        try:
            proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=pipe.stdin,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=preexec)
        finally:
            pipe.stdin.close()  # the process holds the write end; its exit ends the pipe
        self.processes.append((name, proc))
        self.log_pipes.append(pipe)

    def start_service(self, service: str, index: int = 0) -> None:
        config, target = SERVICES[service]
        self._spawn(f"{service}-{index}", [sys.executable, "-m", "nameko", "run", "--config", config,
                                           target], self.env(DATABASE_URL=self.db_url(service)))

    def start(self, wait: bool = True) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        if self.vhost:
            _ensure_vhost(self.vhost)
        if not self.env().get("SUIVI_PRINCIPAL_KEY"):  # one key, made before any process reads it
            from suivi_common.principals import ensure_key_file

            ensure_key_file(self.principal_key_file)
        self.ensure_capture_user()
        self.migrate()
        self._spawn("smtp-sink", [sys.executable, "tools/fakes/smtp_sink.py", "--host", "127.0.0.1",
                                  "--port", str(self.smtp_port), "--maildir",
                                  str(self.var_dir / "mail")], self.env())
        self._spawn("card-provider", [sys.executable, "tools/fakes/card_provider.py", "--host",
                                      "127.0.0.1", "--port", str(self.card_port)], self.env())
        self._spawn("fake-google", [sys.executable, "tools/fakes/fake_google.py", "--host",
                                    "127.0.0.1", "--port", str(self.google_port), "--client-id",
                                    FAKE_GOOGLE_CLIENT[0], "--client-secret",
                                    FAKE_GOOGLE_CLIENT[1]], self.env())
        for service in self.services:
            for index in range(self.instances.get(service, 1)):
                self.start_service(service, index)
        # The gateway starts once every service answers, so its first requests find them.
        self.wait_services()
        self.start_gateway()
        if wait:
            self.wait_healthy()

    def start_gateway(self) -> None:
        config, target = GATEWAY
        self._spawn("gateway", [sys.executable, "-m", "nameko", "run", "--config", config, target],
                    self.env())

    def ensure_capture_user(self) -> None:
        """The capture sites' broker user, allowed to publish to the capture exchange of this
        vhost and nothing else (permissions from ``leads.capture_client``)."""
        from leads.capture_client import capture_permissions

        vhost = self.vhost or "/"
        added = _ctl("add_user", self.capture_user, self.capture_password, ok_if="already exists")
        if "already exists" in added:  # make its password the one we hand out
            _ctl("change_password", self.capture_user, self.capture_password)
        _ctl("set_permissions", "-p", vhost, self.capture_user, *capture_permissions())

    def drop_capture_user(self) -> None:
        subprocess.run(["rabbitmqctl", "-q", "delete_user", self.capture_user],
                       capture_output=True)

    def wait_services(self, timeout: float = 90.0) -> None:
        wait_rpc_health(self.amqp_uri, self.services, self.processes, self.var_dir / "log",
                        timeout)

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            check_running(self.processes, self.var_dir / "log")
            try:
                try:
                    with urllib.request.urlopen(self.url + "/health", timeout=10) as resp:
                        body = json.loads(resp.read())
                except urllib.error.HTTPError as err:  # 503 while a service is still starting
                    body = json.loads(err.read() or b"{}")
                states = body.get("services", {})
                if all(states.get(s, {}).get("status") == "ok" for s in self.services):
                    return
                last = json.dumps(body)
            except Exception as exc:  # not up yet
                last = str(exc)
            time.sleep(0.3)
        raise RuntimeError(f"platform not healthy after {timeout}s: {last}")

    def stop(self) -> None:
        for _, proc in reversed(self.processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc in self.processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.processes.clear()
        self._reap_log_pipes(wait=True)

    def _reap_log_pipes(self, wait: bool = False) -> None:
        """Log pipes end by themselves once their process is gone (all output written)."""
        for pipe in list(self.log_pipes):
            if wait:
                try:
                    pipe.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pipe.kill()
                    pipe.wait()
            if pipe.poll() is not None:
                self.log_pipes.remove(pipe)

    def kill(self, name: str) -> None:
        """Kill one process hard (SIGKILL), as a crash would."""
        for i, (n, proc) in enumerate(self.processes):
            if n == name and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                del self.processes[i]
                self._reap_log_pipes()
                return
        raise KeyError(name)

    def restart(self, name: str) -> None:
        """Start again a process that ``kill`` ended: ``gateway`` or ``<service>-<index>``
        (its log file goes on where it stopped)."""
        if any(n == name and proc.poll() is None for n, proc in self.processes):
            raise RuntimeError(f"{name} is still running")
        if name == "gateway":
            self.start_gateway()
            return
        service, _, index = name.rpartition("-")
        self.start_service(service, int(index))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the parent exits (Linux only)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _ctl(*args: str, ok_if: str = "", attempts: int = 4) -> str:
    """``rabbitmqctl`` with a few retries; returns what it printed.

    Why retry: each call starts an Erlang CLI node, and on a loaded machine (two suites at
    once, each creating vhosts) a call can fail for reasons of its own (no free CLI
    distribution port, a node-connect timeout) while the broker is fine. A failure that
    keeps happening is raised with rabbitmqctl's own words, so a start-up error names it.
    ``ok_if``: a phrase of an expected refusal (e.g. "already exists") that is no error."""
    out = ""
    for attempt in range(attempts):
        done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True)
        out = (done.stdout + done.stderr).strip()
        if done.returncode == 0 or (ok_if and ok_if in out):
            return out
        time.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"rabbitmqctl {args[0]} failed {attempts} times: {out[-500:]}")


def _ensure_vhost(vhost: str) -> None:
    _ctl("add_vhost", vhost, ok_if="already exists")
    _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP (``kill``, a closed terminal) stop the platform as Ctrl-C does:
    its processes run in their own sessions and would otherwise outlive this one."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "run"
    platform = Platform()
    if command == "migrate":
        platform.migrate()
        return 0
    if command != "run":
        print("usage: python -m tools.platform [run|migrate]", file=sys.stderr)
        return 2
    stop_on_signals()
    try:
        platform.start()
        env = platform.env()
        print(f"\nSuivi is up: {platform.url}  (OpenAPI: {platform.url}/openapi.json)")
        print(f"  web office:  {platform.url}/web/  (the same logins; `make demo` adds a network)")
        print(f"  staff login: {env['SUIVI_STAFF_EMAIL']} / {env['SUIVI_STAFF_PASSWORD']}")
        print(f"  mail sink:   smtp://127.0.0.1:{platform.smtp_port} -> {platform.var_dir / 'mail'}")
        print(f"  card fake:   http://127.0.0.1:{platform.card_port}")
        print(f"  Google fake: http://127.0.0.1:{platform.google_port}  (Gmail linking)")
        print(f"  capture:     {platform.capture_uri}  (capture sites' broker user)")
        print(f"  logs:        {platform.var_dir / 'log'}\nCtrl-C stops everything.", flush=True)
        while all(proc.poll() is None for _, proc in platform.processes):
            time.sleep(0.5)
        dead = [n for n, p in platform.processes if p.poll() is not None]
        print(f"stopping: {', '.join(dead)} exited (see var/log)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("stopping...", flush=True)
        platform.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
