"""Deployment security (issue 14 §4): TLS, secrets per process, NetworkPolicies.

Why: a manifest that hands the master key to the internet-facing gateway, or lets a service
talk plain AMQP, runs as well as a correct one; only reading the files shows the difference.
What each process may hold is not a list kept here: it comes from the code (the secrets each
nameko container declares it uses, ``suivi_common.production.secrets_used_by``, and whether
it has a ``Database``), so a new secret or a new database shows up here too. The network
edges are checked as a whole: every edge the policies open, and nothing else.
"""
from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from nameko import config

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = REPO_ROOT / "docker-compose.yml"
COMPOSE_TLS = REPO_ROOT / "docker-compose.tls.yml"
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
DEV_CERTS = REPO_ROOT / "deploy" / "tls" / "make-dev-certs.sh"
RABBIT_TLS_CONF = REPO_ROOT / "deploy" / "rabbitmq" / "30-tls.conf"

SERVICES = ("accounts", "plans", "leads", "mailer", "compliance")
PROCESSES = (*SERVICES, "gateway")
CHECKED_SECRETS = ("SUIVI_MASTER_KEY", "SUIVI_PRINCIPAL_KEY", "CARD_PROVIDER_SECRET")
NAME = "app.kubernetes.io/name"

# -------------------------------------------------------------- what the code uses


@cache
def uses() -> dict[str, tuple[frozenset[str], bool]]:
    """Per process: the checked secrets its container uses, and whether it has a database."""
    from accounts.service import AccountsService
    from compliance.service import ComplianceService
    from gateway.service import GatewayService
    from leads.service import LeadsService
    from mailer.service import MailerService
    from plans.service import PlansService
    from suivi_common.container import SuiviContainer
    from suivi_common.database import Database
    from suivi_common.production import secrets_used_by

    classes = {"accounts": AccountsService, "plans": PlansService, "leads": LeadsService,
               "mailer": MailerService, "compliance": ComplianceService,
               "gateway": GatewayService}
    found = {}
    with config.patch({"AMQP_URI": "memory://"}):
        for process, cls in classes.items():
            container = SuiviContainer(cls)
            has_db = any(isinstance(d, Database) for d in container.dependencies)
            found[process] = (frozenset(secrets_used_by(container)), has_db)
    return found


def test_the_code_sees_what_the_issue_says() -> None:
    """The premise of the checks below: the gateway uses no master key and no database."""
    assert uses()["gateway"] == (frozenset({"SUIVI_PRINCIPAL_KEY", "CARD_PROVIDER_SECRET"}), False)
    for svc in SERVICES:
        assert uses()[svc] == (frozenset({"SUIVI_PRINCIPAL_KEY", "SUIVI_MASTER_KEY"}), True)


# ---------------------------------------------------------------------- kubernetes


@cache
def k8s() -> tuple[dict[str, Any], ...]:
    docs = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return tuple(docs)


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s() if d.get("kind") == kind}


def secret_data(name: str) -> dict[str, str]:
    secret = objects("Secret")[name]
    return {**secret.get("data", {}), **secret.get("stringData", {})}


def workload(process: str) -> dict[str, Any]:
    if process == "migrate":
        return objects("Job")["suivi-migrate"]
    return objects("Deployment")[process]


def container_of(process: str) -> dict[str, Any]:
    [container] = workload(process)["spec"]["template"]["spec"]["containers"]
    return container


def k8s_env(process: str) -> dict[str, str]:
    """A container's environment as the kubelet builds it: envFrom, then env."""
    container = container_of(process)
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(objects("ConfigMap")[source["configMapRef"]["name"]]["data"])
        if "secretRef" in source:
            env.update(secret_data(source["secretRef"]["name"]))
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            env[var["name"]] = secret_data(ref["name"])[ref["key"]]
    return env


def mounted_secret_files(process: str) -> dict[str, str]:
    """Files a container sees from Secret volumes: path -> '<secret>/<key>'."""
    spec = workload(process)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    files = {}
    for mount in container_of(process).get("volumeMounts", []):
        secret = volumes[mount["name"]].get("secret")
        if secret:
            assert mount.get("readOnly") is True, (process, mount)
            for key in secret_data(secret["secretName"]):
                files[f"{mount['mountPath'].rstrip('/')}/{key}"] = f"{secret['secretName']}/{key}"
    return files


def database_urls(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.endswith("DATABASE_URL")}


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def assert_only_what_it_uses(process: str, env: dict[str, str]) -> None:
    """``env`` holds the secrets ``process`` reads and no others, and its own database's
    URL only if it has one."""
    used, has_db = uses()[process]
    assert {name for name in CHECKED_SECRETS if name in env} == used
    if has_db:
        assert database_urls(env).keys() == {"DATABASE_URL"}
        assert database_of(env["DATABASE_URL"]) == process
    else:
        assert database_urls(env) == {}


@pytest.mark.parametrize("process", PROCESSES)
def test_k8s_each_process_gets_only_the_secrets_and_database_it_uses(process: str) -> None:
    assert_only_what_it_uses(process, k8s_env(process))


@pytest.mark.parametrize("process", PROCESSES)
def test_k8s_each_process_has_a_secret_of_its_own(process: str) -> None:
    """One Secret per process, read by that process only (so RBAC and rotation can follow)."""
    refs = [s["secretRef"]["name"] for s in container_of(process).get("envFrom", [])
            if "secretRef" in s]
    assert refs == [f"suivi-{process}"]
    readers = [p for p in (*PROCESSES, "migrate") if f"suivi-{process}" in {
        s["secretRef"]["name"] for s in container_of(p).get("envFrom", []) if "secretRef" in s}]
    assert readers == [process]


def test_k8s_migration_job_reads_each_service_database_and_nothing_of_the_gateway() -> None:
    env = k8s_env("migrate")
    urls = database_urls(env)
    assert {name: database_of(url) for name, url in urls.items()} == {
        f"{svc.upper()}_DATABASE_URL": svc for svc in SERVICES}
    assert "CARD_PROVIDER_SECRET" not in env and "AMQP_URI" not in env
    refs = {v["valueFrom"]["secretKeyRef"]["name"] for v in container_of("migrate")["env"]}
    assert "suivi-gateway" not in refs


@pytest.mark.parametrize("process", PROCESSES)
def test_k8s_amqp_is_amqps_with_the_ca_mounted_from_a_secret(process: str) -> None:
    from suivi_common import tls

    env = k8s_env(process)
    uri = urlsplit(env["AMQP_URI"])
    assert (uri.scheme, uri.port) == ("amqps", 5671)
    assert env["AMQP_SSL_CA_FILE"] in mounted_secret_files(process)
    # what the process will build from it: chain and host name checked
    files = set(mounted_secret_files(process))
    real = {name: __file__ for name in files}  # stand-in files, for the existence check
    options = tls.amqp_ssl_options(env["AMQP_URI"],
                                   lambda key: real.get(env.get(key, ""), env.get(key)))
    assert options is not None
    assert options["cert_reqs"] == ssl.CERT_REQUIRED and options["server_hostname"] == uri.hostname


@pytest.mark.parametrize("process", (*SERVICES, "migrate"))
def test_k8s_database_urls_verify_the_server_against_a_mounted_ca(process: str) -> None:
    urls = database_urls(k8s_env(process))
    assert urls
    for name, url in urls.items():
        query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query.get("sslmode") == "verify-full", (name, url)
        assert query.get("sslrootcert") in mounted_secret_files(process), (name, url)


# ------------------------------------------------------------------ NetworkPolicy

DNS = "dns"
INGRESS_CONTROLLER = "ingress-controller"
INTERNET = "internet"
BROKER = "broker"
CAPTURE_PODS = "capture-site-pods"
CAPTURE_NET = "capture-sites-net"
PRIVATE = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}

#: Pods these manifests do not deploy but the policies must admit, by the labels they carry.
EXTERNAL_PODS: dict[str, dict[str, str]] = {
    BROKER: {NAME: "rabbitmq"},
    CAPTURE_PODS: {"app.kubernetes.io/component": "capture-site"},
    **{f"db:{svc}": {NAME: "postgres", f"db.suivi.io/{svc}": "true"} for svc in SERVICES},
}


def peer_name(peer: dict[str, Any]) -> str:
    """A readable name for a NetworkPolicy peer; an unknown shape fails the test."""
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        if block["cidr"] == "0.0.0.0/0":
            assert PRIVATE <= set(block.get("except", [])), f"internet peer reaches the cluster: {peer}"
            return INTERNET
        assert block["cidr"] == "203.0.113.0/24" and not block.get("except"), peer
        return CAPTURE_NET
    namespaces = peer.get("namespaceSelector")
    labels = peer.get("podSelector", {}).get("matchLabels")
    assert labels, f"a peer selecting every pod: {peer}"
    assert not peer.get("podSelector", {}).get("matchExpressions"), peer
    if namespaces is not None:
        ns = namespaces.get("matchLabels", {}).get("kubernetes.io/metadata.name")
        if (ns, labels) == ("kube-system", {"k8s-app": "kube-dns"}):
            return DNS
        if (ns, labels) == ("ingress-nginx", {NAME: "ingress-nginx"}):
            return INGRESS_CONTROLLER
        raise AssertionError(f"unknown peer in another namespace: {peer}")
    matches = [name for name, pod_labels in pods().items() if labels.items() <= pod_labels.items()]
    assert len(matches) == 1 or all(m.startswith("db:") for m in matches), (peer, matches)
    if all(m.startswith("db:") for m in matches) and len(matches) > 1:
        raise AssertionError(f"a peer selecting every database: {peer}")
    return matches[0]


@cache
def pods() -> dict[str, dict[str, str]]:
    """Every pod the policies talk about: our workloads and the external ones, by label."""
    found = {name: d["spec"]["template"]["metadata"]["labels"]
             for name, d in objects("Deployment").items()}
    found["migrate"] = workload("migrate")["spec"]["template"]["metadata"]["labels"]
    return {**found, **EXTERNAL_PODS}


def policies() -> dict[str, dict[str, Any]]:
    return objects("NetworkPolicy")


def selects(policy: dict[str, Any], pod: str) -> bool:
    selector = policy["spec"]["podSelector"]
    assert set(selector) <= {"matchLabels"}, selector
    return selector.get("matchLabels", {}).items() <= pods()[pod].items()


Edge = tuple[str, str, str]  # (peer, protocol, port)


def edges(pod: str, direction: str) -> set[Edge]:
    """Every (peer, protocol, port) the policies open for ``pod`` in ``direction``."""
    key, side = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    found: set[Edge] = set()
    for policy in policies().values():
        if not selects(policy, pod) or direction not in policy["spec"]["policyTypes"]:
            continue
        for rule in policy["spec"].get(key, []):
            assert rule.get(side), f"{policy['metadata']['name']}: a rule open to everyone"
            assert rule.get("ports"), f"{policy['metadata']['name']}: a rule open on every port"
            for peer in rule[side]:
                for port in rule["ports"]:
                    assert "endPort" not in port, port
                    found.add((peer_name(peer), port.get("protocol", "TCP"), str(port["port"])))
    return found


def tcp(peer: str, *ports: int) -> set[Edge]:
    return {(peer, "TCP", str(p)) for p in ports}


DNS_EDGES = {(DNS, "UDP", "53"), (DNS, "TCP", "53")}
EXPECTED_EGRESS: dict[str, set[Edge]] = {
    "gateway": tcp(BROKER, 5671) | DNS_EDGES,
    **{svc: tcp(BROKER, 5671) | tcp(f"db:{svc}", 5432) | DNS_EDGES for svc in SERVICES},
    "migrate": set().union(*(tcp(f"db:{svc}", 5432) for svc in SERVICES)) | DNS_EDGES,
    CAPTURE_PODS: tcp(BROKER, 5671) | DNS_EDGES,
}
EXPECTED_EGRESS["accounts"] |= tcp(INTERNET, 443)  # the card provider
EXPECTED_EGRESS["mailer"] |= tcp(INTERNET, 587, 465, 443)  # SMTP, Gmail's API
EXPECTED_INGRESS: dict[str, set[Edge]] = {
    "gateway": tcp(INGRESS_CONTROLLER, 8000),
    **{svc: set() for svc in SERVICES},
    "migrate": set(),
    CAPTURE_PODS: set(),
    BROKER: set().union(*(tcp(p, 5671) for p in (*PROCESSES, CAPTURE_PODS, CAPTURE_NET)))
    | tcp(BROKER, 4369, 25672),
    **{f"db:{svc}": tcp(svc, 5432) | tcp("migrate", 5432) for svc in SERVICES},
}


def test_a_default_deny_policy_covers_every_pod_both_ways() -> None:
    denies = [p for p in policies().values() if p["spec"]["podSelector"] == {}]
    assert len(denies) == 1
    [deny] = denies
    assert sorted(deny["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert not deny["spec"].get("ingress") and not deny["spec"].get("egress")


def test_every_workload_has_a_policy_of_its_own() -> None:
    for pod in (*PROCESSES, "migrate"):
        own = [p for p in policies().values() if p["spec"]["podSelector"] and selects(p, pod)]
        assert own, f"{pod}: only the default deny applies"


@pytest.mark.parametrize("pod", sorted(EXPECTED_EGRESS))
def test_egress_is_exactly_the_allowed_edges(pod: str) -> None:
    assert edges(pod, "Egress") == EXPECTED_EGRESS[pod]


@pytest.mark.parametrize("pod", sorted(EXPECTED_INGRESS))
def test_ingress_is_exactly_the_allowed_edges(pod: str) -> None:
    assert edges(pod, "Ingress") == EXPECTED_INGRESS[pod]


def test_both_ends_of_every_in_cluster_edge_agree() -> None:
    """An egress to a pod of ours is admitted by that pod's ingress, and the reverse."""
    for pod in pods():
        for peer, protocol, port in edges(pod, "Egress"):
            if peer in pods():
                assert (pod, protocol, port) in edges(peer, "Ingress"), (pod, peer, port)
        for peer, protocol, port in edges(pod, "Ingress"):
            if peer in pods():
                assert (pod, protocol, port) in edges(peer, "Egress"), (peer, pod, port)


def test_policy_ports_are_the_ports_the_processes_use() -> None:
    gateway_ports = {p["containerPort"] for p in container_of("gateway")["ports"]}
    assert {int(port) for _, _, port in EXPECTED_INGRESS["gateway"]} <= gateway_ports
    for process in PROCESSES:
        env = k8s_env(process)
        assert urlsplit(env["AMQP_URI"]).port == 5671
        for url in database_urls(env).values():
            assert urlsplit(url).port == 5432


# ------------------------------------------------------------------------ compose


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@cache
def compose_tls() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_TLS.read_text())
    assert isinstance(data, dict)
    return data


def compose_env(process: str, *, tls: bool = False) -> dict[str, str]:
    """A service's environment, with the TLS override merged as compose merges maps."""
    env = dict(compose()["services"][process].get("environment", {}))
    if tls:
        env.update(compose_tls()["services"].get(process, {}).get("environment", {}))
    return {k: str(v) for k, v in env.items()}


@pytest.mark.parametrize("process", PROCESSES)
def test_compose_each_process_gets_only_the_secrets_and_database_it_uses(process: str) -> None:
    for tls in (False, True):
        assert_only_what_it_uses(process, compose_env(process, tls=tls))


def test_compose_migrate_gets_no_gateway_or_broker_secret() -> None:
    for tls in (False, True):
        env = compose_env("migrate", tls=tls)
        assert not {"CARD_PROVIDER_SECRET", "SUIVI_PRINCIPAL_KEY", "AMQP_URI"} & set(env)


@pytest.mark.parametrize("process", PROCESSES)
def test_compose_dev_stays_plain_on_loopback(process: str) -> None:
    assert urlsplit(compose_env(process)["AMQP_URI"]).scheme == "amqp"
    for name in ("rabbitmq", "postgres"):
        for port in compose()["services"][name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def tls_secret_targets(service: str) -> set[str]:
    """The files a service sees from the override's compose secrets."""
    declared = compose_tls()["secrets"]
    found = set()
    for entry in compose_tls()["services"][service].get("secrets", []):
        source = entry if isinstance(entry, str) else entry["source"]
        target = source if isinstance(entry, str) else entry.get("target", source)
        assert source in declared, (service, source)
        found.add(target if target.startswith("/") else f"/run/secrets/{target}")
    return found


@pytest.mark.parametrize("process", PROCESSES)
def test_compose_tls_override_turns_amqps_on_with_a_mounted_ca(process: str) -> None:
    env = compose_env(process, tls=True)
    uri = urlsplit(env["AMQP_URI"])
    assert (uri.scheme, uri.hostname, uri.port) == ("amqps", "rabbitmq", 5671)
    assert env["AMQP_SSL_CA_FILE"] in tls_secret_targets(process)
    # the same broker user and password as the plain URI (deploy/rabbitmq/definitions.json)
    plain = urlsplit(compose_env(process)["AMQP_URI"])
    assert (uri.username, uri.password) == (plain.username, plain.password)


@pytest.mark.parametrize("process", (*SERVICES, "migrate"))
def test_compose_tls_override_verifies_the_database_server(process: str) -> None:
    env = compose_env(process, tls=True)
    assert env["PGSSLMODE"] == "verify-full"
    assert env["PGSSLROOTCERT"] in tls_secret_targets(process)
    for url in database_urls(env).values():  # an option in the URL would win over PGSSLMODE
        assert "sslmode" not in url or "sslmode=verify-full" in url


def test_compose_tls_override_gives_the_gateway_no_database_settings() -> None:
    env = compose_env("gateway", tls=True)
    assert not [k for k in env if k.startswith("PG") or k.endswith("DATABASE_URL")]


def rabbit_tls_settings() -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in RABBIT_TLS_CONF.read_text().splitlines()
                if line.strip() and not line.startswith("#"))


def test_compose_tls_broker_listens_with_tls_only() -> None:
    rabbit = compose_tls()["services"]["rabbitmq"]
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in rabbit["volumes"]}
    target = next(t for t in mounts if t.startswith("/etc/rabbitmq/conf.d/"))
    assert (REPO_ROOT / mounts[target]).resolve() == RABBIT_TLS_CONF
    settings = rabbit_tls_settings()
    assert settings["listeners.tcp"] == "none"
    assert settings["listeners.ssl.default"] == "5671"
    files = tls_secret_targets("rabbitmq")
    for key in ("cacertfile", "certfile", "keyfile"):
        assert settings[f"ssl_options.{key}"] in files, key
    assert any(str(p).endswith(":5671") and str(p).startswith("127.0.0.1:")
               for p in rabbit["ports"])


def test_compose_tls_postgres_serves_tls_with_its_certificate() -> None:
    postgres = compose_tls()["services"]["postgres"]
    options = dict(a.split("=", 1) for a in postgres["command"] if "=" in a)
    assert options["ssl"] == "on"
    files = tls_secret_targets("postgres")
    assert options["ssl_cert_file"] in files and options["ssl_ca_file"] in files
    script = postgres["entrypoint"][2]
    assert f"-m 0600 {sorted(f for f in files if f.endswith('key'))[0]} {options['ssl_key_file']}" \
        in script


@pytest.fixture(scope="module")
def dev_certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    out = tmp_path_factory.mktemp("tls")
    subprocess.run(["sh", str(DEV_CERTS), str(out)], check=True, capture_output=True)
    yield out


def test_dev_certificates_are_the_files_the_override_mounts(dev_certs: Path) -> None:
    for name, secret in compose_tls()["secrets"].items():
        path = secret["file"].replace("${SUIVI_TLS_DIR:-./var/tls}", str(dev_certs))
        assert Path(path).is_file(), (name, path)


@pytest.mark.parametrize(("cert", "host_of"), [
    ("rabbitmq.crt", lambda: urlsplit(compose_env("leads", tls=True)["AMQP_URI"]).hostname),
    ("postgres.crt", lambda: urlsplit(compose_env("leads")["DATABASE_URL"]).hostname),
])
def test_dev_certificates_verify_for_the_hosts_the_processes_name(dev_certs: Path, cert: str,
                                                                  host_of: Any) -> None:
    """The chain and the host name a client checks (as ssl does with verify-full/amqps)."""
    from cryptography import x509

    loaded = x509.load_pem_x509_certificate((dev_certs / cert).read_bytes())
    names = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert host_of() in names.get_values_for_type(x509.DNSName)
    verified = subprocess.run(["openssl", "verify", "-CAfile", str(dev_certs / "ca.crt"),
                               str(dev_certs / cert)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
