"""Consistency checks for docker-compose.yml, deploy/Dockerfile and deploy/k8s/.

Why: deployment files name modules, classes, config files and paths as plain
strings that no import or type checker sees. A renamed service class or a moved
config file would only show up as a crash-looping container; these tests turn
that into a failing test run. They only read files: no Docker, no cluster.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
INIT_SQL = REPO_ROOT / "deploy" / "postgres" / "init-databases.sql"
CONSTRAINTS = "requirements/constraints.txt"

SERVICES = ("accounts", "plans", "leads", "mailer", "compliance")
PROCESSES = (*SERVICES, "gateway")
# The `nameko run` target of each process: (config file, module:Class).
NAMEKO_TARGETS = {
    **{svc: (f"services/{svc}/config.yaml", f"{svc}.service:{svc.capitalize()}Service") for svc in SERVICES},
    "gateway": ("gateway/config.yaml", "gateway.service:GatewayService"),
}
# Source directory of each top-level package (all are `pip install -e`d).
PACKAGE_DIRS = {
    **{svc: f"services/{svc}/{svc}" for svc in SERVICES},
    "gateway": "gateway/gateway",
    "suivi_common": "libs/suivi_common/suivi_common",
}
PYTHONS = {"python", "python3", "python3.11"}
SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash"}
SHELL_OPERATORS = {"&&", "||", ";", "|", "&"}
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


# --------------------------------------------------------------------- loading


@cache
def compose() -> dict[str, Any]:
    """Parsed docker-compose.yml."""
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def compose_services() -> dict[str, dict[str, Any]]:
    """The services mapping of docker-compose.yml."""
    services = compose()["services"]
    assert isinstance(services, dict)
    return services


@cache
def k8s_documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    """Every (file name, document) under deploy/k8s, kustomization included."""
    docs: list[tuple[str, dict[str, Any]]] = []
    for path in sorted([*K8S_DIR.rglob("*.yaml"), *K8S_DIR.rglob("*.yml")]):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                docs.append((str(path.relative_to(K8S_DIR)), doc))
    return tuple(docs)


def k8s_objects(kind: str) -> list[dict[str, Any]]:
    """All manifests of one kind."""
    return [doc for _, doc in k8s_documents() if doc.get("kind") == kind]


def k8s_named(kind: str, name: str) -> dict[str, Any] | None:
    """The manifest of that kind and name, if any."""
    for doc in k8s_objects(kind):
        if doc["metadata"]["name"] == name:
            return doc
    return None


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment or Job."""
    spec = doc["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Containers and init containers of a workload."""
    spec = pod_spec(doc)
    return [*spec.get("initContainers", []), *spec["containers"]]


# ------------------------------------------------------------- command parsing


@dataclass
class Invocation:
    """One program run found in a compose or k8s command, after shell parsing."""

    where: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def split_script(script: str) -> list[tuple[dict[str, str], list[str]]]:
    """Split a small sh script into (leading VAR=value assignments, argv) runs."""
    runs: list[tuple[dict[str, str], list[str]]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current: list[str] = []
        for token in [*lexer, ";"]:
            if token not in SHELL_OPERATORS:
                current.append(token)
                continue
            env: dict[str, str] = {}
            while current and (ENV_ASSIGNMENT.match(current[0]) or current[0] in {"exec", "env"}):
                token = current.pop(0)
                if token not in {"exec", "env"}:
                    name, _, value = token.partition("=")
                    env[name] = value
            if current:
                runs.append((env, current))
            current = []
    return runs


def expand(where: str, argv: list[str]) -> list[Invocation]:
    """Turn an argv into the programs it runs, looking inside `sh -c` scripts."""
    if len(argv) >= 3 and argv[0] in SHELLS and argv[1].startswith("-") and "c" in argv[1]:
        return [Invocation(where, a, env) for env, a in split_script(argv[2])]
    env: dict[str, str] = {}
    while argv and ENV_ASSIGNMENT.match(argv[0]):
        name, _, value = argv[0].partition("=")
        env[name] = value
        argv = argv[1:]
    return [Invocation(where, argv, env)] if argv else []


def as_argv(value: Any) -> list[str]:
    """Compose accepts commands as a list or as one string."""
    if isinstance(value, str):
        return shlex.split(value)
    return [str(item) for item in value]


def healthcheck_argv(test: Any) -> list[str]:
    """Compose healthcheck `test` to an argv."""
    if isinstance(test, str):
        return ["sh", "-c", test]
    if test and test[0] == "CMD-SHELL":
        return ["sh", "-c", " ".join(test[1:])]
    if test and test[0] == "CMD":
        return [str(item) for item in test[1:]]
    return []


@cache
def all_invocations() -> tuple[Invocation, ...]:
    """Every command in docker-compose.yml and deploy/k8s, with its origin."""
    found: list[Invocation] = []
    for name, service in compose_services().items():
        for key in ("entrypoint", "command"):
            if key in service:
                found += expand(f"compose:{name}:{key}", as_argv(service[key]))
        if "test" in service.get("healthcheck", {}):
            test = service["healthcheck"]["test"]
            found += expand(f"compose:{name}:healthcheck", healthcheck_argv(test))
    for file_name, doc in k8s_documents():
        kind = doc.get("kind")
        if kind not in {"Deployment", "Job", "StatefulSet", "CronJob"}:
            continue
        workload = {"spec": doc["spec"]["jobTemplate"]["spec"]} if kind == "CronJob" else doc
        for container in containers(workload):
            where = f"k8s:{file_name}:{container['name']}"
            argv = [*container.get("command", []), *container.get("args", [])]
            if argv:
                found += expand(where, [str(a) for a in argv])
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                command = container.get(probe, {}).get("exec", {}).get("command")
                if command:
                    found += expand(f"{where}:{probe}", [str(a) for a in command])
    return tuple(found)


def nameko_runs() -> list[Invocation]:
    """Invocations of `nameko run`."""
    return [i for i in all_invocations() if i.argv[:2] == ["nameko", "run"]]


def python_module_runs() -> list[Invocation]:
    """Invocations of `python -m <module>`."""
    return [
        i
        for i in all_invocations()
        if Path(i.argv[0]).name in PYTHONS and len(i.argv) > 2 and i.argv[1] == "-m"
    ]


def python_script_runs() -> list[Invocation]:
    """Invocations of `python <script.py>`."""
    return [
        i
        for i in all_invocations()
        if Path(i.argv[0]).name in PYTHONS and len(i.argv) > 1 and i.argv[1].endswith(".py")
    ]


def parse_nameko_run(argv: list[str]) -> tuple[str | None, list[str]]:
    """Return (--config value, service targets) of a `nameko run` argv."""
    config: str | None = None
    targets: list[str] = []
    args = iter(argv[2:])
    for arg in args:
        if arg == "--config":
            config = next(args, None)
        elif arg.startswith("--config="):
            config = arg.partition("=")[2]
        elif arg in {"--broker", "--backdoor-port", "--define"}:
            next(args, None)
        elif not arg.startswith("-"):
            targets.append(arg)
    return config, targets


def module_file(dotted: str, *, runnable: bool = False) -> Path | None:
    """Source file of a module in this repo, or None when it does not exist.

    With ``runnable`` (``python -m``), a package only counts if it has a
    ``__main__.py``.
    """
    top, *rest = dotted.split(".")
    if top not in PACKAGE_DIRS:
        return None
    base = REPO_ROOT / PACKAGE_DIRS[top]
    target = base.joinpath(*rest)
    package_entry = "__main__.py" if runnable else "__init__.py"
    candidates = [target / package_entry]
    if rest:
        candidates.insert(0, target.with_suffix(".py"))
    return next((c for c in candidates if c.is_file()), None)


def ids(invocations: list[Invocation]) -> list[str]:
    """Readable pytest ids."""
    return [f"{i.where}:{' '.join(i.argv)[:60]}" for i in invocations]


# ------------------------------------------------------------ compose & k8s


def test_referenced_files_exist() -> None:
    for path in (COMPOSE_FILE, DOCKERFILE, INIT_SQL, K8S_DIR / "kustomization.yaml"):
        assert path.is_file(), path
    assert (REPO_ROOT / CONSTRAINTS).is_file(), f"{CONSTRAINTS} missing (lead)"


@pytest.mark.parametrize("run", nameko_runs(), ids=ids(nameko_runs()))
def test_nameko_run_targets_exist(run: Invocation) -> None:
    config, targets = parse_nameko_run(run.argv)
    assert config, f"{run.where}: nameko run without --config"
    assert (REPO_ROOT / config).is_file(), f"{run.where}: no config file {config}"
    assert targets, f"{run.where}: nameko run without a service"
    for target in targets:
        module, sep, class_name = target.partition(":")
        assert sep, f"{run.where}: {target!r} should be module:Class"
        path = module_file(module)
        assert path, f"{run.where}: module {module} not found under {PACKAGE_DIRS}"
        pattern = rf"^class\s+{re.escape(class_name)}\b"
        assert re.search(pattern, path.read_text(), re.MULTILINE), (
            f"{run.where}: no `class {class_name}` in {path.relative_to(REPO_ROOT)}"
        )


@pytest.mark.parametrize("run", python_module_runs(), ids=ids(python_module_runs()))
def test_python_m_modules_exist(run: Invocation) -> None:
    module = run.argv[2]
    assert module_file(module, runnable=True), (
        f"{run.where}: `python -m {module}` has no module file in the repo"
    )


@pytest.mark.parametrize("run", python_script_runs(), ids=ids(python_script_runs()))
def test_python_scripts_exist(run: Invocation) -> None:
    assert (REPO_ROOT / run.argv[1]).is_file(), f"{run.where}: {run.argv[1]} missing"


def test_healthcheck_cli_names_a_real_service() -> None:
    runs = [i for i in python_module_runs() if i.argv[2] == "suivi_common.healthcheck"]
    assert runs
    for run in runs:
        assert run.argv[3:] and run.argv[3] in SERVICES, run


@pytest.mark.parametrize("process", PROCESSES)
def test_each_process_runs_its_own_nameko_service(process: str) -> None:
    expected = ["nameko", "run", "--config", *NAMEKO_TARGETS[process]]
    assert as_argv(compose_services()[process]["command"]) == expected
    deployment = k8s_named("Deployment", process)
    assert deployment, f"no Deployment {process}"
    commands = [c.get("command", []) + c.get("args", []) for c in containers(deployment)]
    assert expected in commands


def test_every_service_is_migrated_against_its_own_database() -> None:
    for origin in ("compose:", "k8s:"):
        migrations = {
            i.argv[2]: i
            for i in python_module_runs()
            if i.where.startswith(origin) and i.argv[2].endswith(".migrate")
        }
        assert set(migrations) == {f"{svc}.migrate" for svc in SERVICES}, origin
        for module, run in migrations.items():
            svc = module.split(".")[0]
            url = run.env.get("DATABASE_URL", "")
            assert url.endswith(f"/{svc}") or f"{svc.upper()}_DATABASE_URL" in url, (
                f"{run.where}: {module} runs with DATABASE_URL={url!r}"
            )
    # The k8s Job maps each <SVC>_DATABASE_URL to the DATABASE_URL of that service's Secret.
    for job in k8s_objects("Job"):
        for container in containers(job):
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef", {})
                if var["name"].endswith("_DATABASE_URL") and ref:
                    svc = var["name"].removesuffix("_DATABASE_URL").lower()
                    assert (ref["name"], ref["key"]) == (f"suivi-{svc}", "DATABASE_URL"), var


# ------------------------------------------------------------------- compose


def test_compose_databases_match_services() -> None:
    for svc in SERVICES:
        url = compose_services()[svc]["environment"]["DATABASE_URL"]
        assert url.endswith(f"/{svc}"), (svc, url)


def test_compose_paths_exist() -> None:
    dockerfile_targets = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", DOCKERFILE.read_text(), re.I | re.M))
    for name, service in compose_services().items():
        build = service.get("build")
        if build is not None:
            if isinstance(build, str):
                build = {"context": build}
            context = REPO_ROOT / build.get("context", ".")
            assert context.is_dir(), f"{name}: build context {context}"
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            assert dockerfile.is_file(), f"{name}: {dockerfile}"
            if "target" in build:
                assert build["target"] in dockerfile_targets, f"{name}: target"
        for volume in service.get("volumes", []):
            source = volume.get("source", "") if isinstance(volume, dict) else volume
            source = source.split(":")[0]
            if source.startswith((".", "/")):
                assert (REPO_ROOT / source).exists(), f"{name}: volume {source}"
        env_files = service.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            path = env_file["path"] if isinstance(env_file, dict) else env_file
            assert (REPO_ROOT / path).is_file(), f"{name}: env_file {path}"
    init_mounts = [
        v
        for v in compose_services()["postgres"].get("volumes", [])
        if isinstance(v, str) and "docker-entrypoint-initdb.d" in v
    ]
    assert init_mounts
    assert (REPO_ROOT / init_mounts[0].split(":")[0]).resolve() == INIT_SQL.resolve()


def test_leads_can_scale() -> None:
    leads = compose_services()["leads"]
    assert "container_name" not in leads
    for port in leads.get("ports", []):
        if isinstance(port, dict):
            assert "published" not in port, port
        else:
            assert ":" not in str(port), f"leads publishes a fixed host port: {port}"


def test_compose_dependencies_are_sound() -> None:
    services = compose_services()
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        if isinstance(depends_on, list):
            depends_on = {d: {"condition": "service_started"} for d in depends_on}
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = spec.get("condition", "service_started")
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", target
    for process in PROCESSES:
        assert "healthcheck" in services[process], process


def test_gateway_publishes_configurable_port() -> None:
    ports = [str(p) for p in compose_services()["gateway"].get("ports", [])]
    assert any("${GATEWAY_PORT:-8000}:" in p for p in ports), ports


# ---------------------------------------------------------------- kubernetes


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    resources = kustomization["resources"]
    for resource in resources:
        assert (K8S_DIR / resource).is_file(), resource
    manifests = {
        str(p.relative_to(K8S_DIR))
        for p in [*K8S_DIR.rglob("*.yaml"), *K8S_DIR.rglob("*.yml")]
        if p.name not in {"kustomization.yaml", "kustomization.yml"}
    }
    assert set(resources) == manifests


@pytest.mark.parametrize("process", PROCESSES)
def test_deployments_have_probes(process: str) -> None:
    deployment = k8s_named("Deployment", process)
    assert deployment, f"no Deployment {process}"
    for container in pod_spec(deployment)["containers"]:
        for probe_name in ("livenessProbe", "readinessProbe"):
            probe = container.get(probe_name)
            assert probe, f"{process}/{container['name']}: no {probe_name}"
            if process == "gateway":
                assert probe["httpGet"]["path"] == "/health"
                port = probe["httpGet"]["port"]
                names = {p.get("name") for p in container.get("ports", [])}
                numbers = {p["containerPort"] for p in container.get("ports", [])}
                assert port in names | numbers, f"gateway probe port {port}"
            else:
                command = probe["exec"]["command"]
                assert command == ["python", "-m", "suivi_common.healthcheck", process]
        assert container.get("resources", {}).get("requests"), process


def test_every_deployment_has_probes_and_matching_selector() -> None:
    deployments = k8s_objects("Deployment")
    assert {d["metadata"]["name"] for d in deployments} >= set(PROCESSES)
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name
        for container in pod_spec(deployment)["containers"]:
            assert "livenessProbe" in container, f"{name}: no livenessProbe"
            assert "readinessProbe" in container, f"{name}: no readinessProbe"


def test_hpa_targets_leads() -> None:
    hpas = k8s_objects("HorizontalPodAutoscaler")
    assert hpas
    leads_hpas = [h for h in hpas if h["spec"]["scaleTargetRef"]["name"] == "leads"]
    assert len(leads_hpas) == 1
    hpa = leads_hpas[0]
    assert hpa["apiVersion"] == "autoscaling/v2"
    ref = hpa["spec"]["scaleTargetRef"]
    assert ref["kind"] == "Deployment"
    assert ref["apiVersion"] == "apps/v1"
    leads = k8s_named("Deployment", "leads")
    assert leads
    # A fixed replica count would be reset on every apply, fighting the HPA.
    assert "replicas" not in leads["spec"]
    assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_config_and_secret_references_resolve() -> None:
    config_maps = {c["metadata"]["name"]: c for c in k8s_objects("ConfigMap")}
    secrets = {s["metadata"]["name"]: s for s in k8s_objects("Secret")}

    def secret_keys(name: str) -> set[str]:
        secret = secrets[name]
        return set(secret.get("stringData", {})) | set(secret.get("data", {}))

    workloads = [*k8s_objects("Deployment"), *k8s_objects("Job")]
    for workload in workloads:
        for container in containers(workload):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in secrets, ref
                    assert ref["key"] in secret_keys(ref["name"]), ref
                ref = var.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    assert ref["key"] in config_maps[ref["name"]]["data"], ref
    for svc in SERVICES:
        assert "DATABASE_URL" in secret_keys(f"suivi-{svc}"), svc


def test_gateway_service_and_ingress_route_to_gateway() -> None:
    gateway = k8s_named("Deployment", "gateway")
    service = k8s_named("Service", "gateway")
    assert gateway
    assert service
    pod_labels = gateway["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container_ports = {p.get("name") for c in pod_spec(gateway)["containers"] for p in c["ports"]} | {
        p["containerPort"] for c in pod_spec(gateway)["containers"] for p in c["ports"]
    }
    service_ports = {p.get("name") for p in service["spec"]["ports"]} | {
        p["port"] for p in service["spec"]["ports"]
    }
    for port in service["spec"]["ports"]:
        assert port.get("targetPort", port["port"]) in container_ports
    ingresses = k8s_objects("Ingress")
    assert ingresses
    for ingress in ingresses:
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == "gateway"
                port = backend["port"].get("name", backend["port"].get("number"))
                assert port in service_ports


# ---------------------------------------------------------- Dockerfile & SQL


def test_init_sql_creates_all_databases() -> None:
    created = re.findall(r"^\s*CREATE\s+DATABASE\s+\"?(\w+)\"?", INIT_SQL.read_text(), re.I | re.M)
    assert sorted(created) == sorted(SERVICES)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_copy_sources_exist() -> None:
    copies = [rest for keyword, rest in dockerfile_instructions() if keyword in {"COPY", "ADD"}]
    assert copies
    for rest in copies:
        if rest.lstrip().startswith("["):
            args = json.loads(rest)
        else:
            args = shlex.split(rest)
        flags = [a for a in args if a.startswith("--")]
        if any(f.startswith("--from=") for f in flags):
            continue  # copied from another stage or image, not the context
        sources = [a for a in args if not a.startswith("--")][:-1]
        assert sources, rest
        for source in sources:
            matches = list(REPO_ROOT.glob(source.rstrip("/"))) if source else []
            assert matches, f"Dockerfile COPY source {source} does not exist"


def test_dockerfile_installs_every_package_with_constraints() -> None:
    text = " ".join(rest for kw, rest in dockerfile_instructions() if kw == "RUN")
    assert f"-c {CONSTRAINTS}" in text
    assert (REPO_ROOT / CONSTRAINTS).is_file(), f"{CONSTRAINTS} missing"
    editable = set(re.findall(r"-e\s+(\S+)", text))
    expected = {f"services/{svc}" for svc in SERVICES} | {
        "gateway",
        "libs/suivi_common",
    }
    assert editable == expected
    for path in editable:
        project = REPO_ROOT / path
        assert (project / "pyproject.toml").is_file(), f"{path} has no pyproject.toml"


def test_dockerfile_final_stage_is_python311_non_root() -> None:
    instructions = dockerfile_instructions()
    assert "python:3.11-slim" in DOCKERFILE.read_text()
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    users = [rest for kw, rest in instructions[last_from:] if kw == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert any(kw == "CMD" for kw, _ in instructions[last_from:])


# ------------------------------------------------------------- RabbitMQ definitions

DEFINITIONS = REPO_ROOT / "deploy" / "rabbitmq" / "definitions.json"
RABBIT_CONF = REPO_ROOT / "deploy" / "rabbitmq" / "20-suivi.conf"


def definitions_files() -> list[tuple[str, dict[str, Any]]]:
    """The dev definitions (compose) and the k8s Secret's, parsed."""
    found = [("compose", json.loads(DEFINITIONS.read_text()))]
    secret = k8s_named("Secret", "suivi-rabbitmq-definitions")
    assert secret, "no Secret suivi-rabbitmq-definitions in deploy/k8s"
    found.append(("k8s", json.loads(secret["stringData"]["definitions.json"])))
    return found


def amqp_user(uri: str) -> tuple[str, str]:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(uri)
    return unquote(parts.username or ""), unquote(parts.password or "")


def test_compose_loads_the_definitions_into_its_broker() -> None:
    mounts = {str(v).split(":")[1]: str(v).split(":")[0]
              for v in compose_services()["rabbitmq"].get("volumes", [])}
    assert (REPO_ROOT / mounts["/etc/rabbitmq/definitions.json"]).resolve() == DEFINITIONS
    conf_target = next(t for t in mounts if t.startswith("/etc/rabbitmq/conf.d/"))
    assert (REPO_ROOT / mounts[conf_target]).resolve() == RABBIT_CONF
    settings = dict(line.split(" = ", 1) for line in RABBIT_CONF.read_text().splitlines()
                    if line.strip() and not line.startswith("#"))
    assert settings["load_definitions"] == "/etc/rabbitmq/definitions.json"


@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_definitions_give_capture_sites_a_user_that_only_publishes_captures(where: str) -> None:
    from leads.amqp import capture_queue
    from leads.capture_client import DEFAULT_CAPTURE_USER, DEFAULT_EXCHANGE, capture_permissions

    defs = dict(definitions_files())[where]
    users = {u["name"]: u for u in defs["users"]}
    capture = users[DEFAULT_CAPTURE_USER]
    assert not capture.get("tags")  # no management access either
    grants = [p for p in defs["permissions"] if p["user"] == DEFAULT_CAPTURE_USER]
    assert grants and all((p["configure"], p["write"], p["read"]) == capture_permissions()
                          for p in grants)
    assert not [p for p in defs.get("topic_permissions", []) if p["user"] == DEFAULT_CAPTURE_USER]
    # the exchange it writes to exists, bound to the capture queue exactly as leads declares it
    queue = capture_queue(DEFAULT_EXCHANGE)
    [exchange] = [e for e in defs["exchanges"] if e["name"] == DEFAULT_EXCHANGE]
    assert (exchange["type"], exchange["durable"], exchange["auto_delete"]) == (
        queue.exchange.type, True, False)
    [declared] = [q for q in defs["queues"] if q["name"] == queue.name]
    assert declared["durable"] is True and declared["auto_delete"] is False
    assert declared["arguments"] == {}  # as leads declares it: a mismatch would refuse leads
    assert {(b["source"], b["destination"], b["routing_key"]) for b in defs["bindings"]} == {
        (DEFAULT_EXCHANGE, queue.name, queue.routing_key)}
    # the services' user is another one, with everything on the vhost
    services = [p for p in defs["permissions"] if p["user"] != DEFAULT_CAPTURE_USER]
    assert services and all((p["configure"], p["write"], p["read"]) == (".*", ".*", ".*")
                            for p in services)


def test_compose_services_connect_as_the_definitions_user_with_its_password() -> None:
    import base64
    import hashlib

    defs = json.loads(DEFINITIONS.read_text())
    users = {u["name"]: u for u in defs["users"]}
    env = compose()["x-common-env"]
    name, password = amqp_user(env["AMQP_URI"])
    assert name != "guest" and name in users
    raw = base64.b64decode(users[name]["password_hash"])  # rabbit_password_hashing_sha256
    assert hashlib.sha256(raw[:4] + password.encode()).digest() == raw[4:]
    assert env.get("SUIVI_PRINCIPAL_KEY")


@pytest.mark.parametrize("process", PROCESSES)
def test_k8s_secrets_name_the_principal_key(process: str) -> None:
    secret = k8s_named("Secret", f"suivi-{process}")
    assert secret and "SUIVI_PRINCIPAL_KEY" in secret["stringData"]
    name, _ = amqp_user(secret["stringData"]["AMQP_URI"])
    defs = dict(definitions_files())["k8s"]
    assert name in {u["name"] for u in defs["users"]}
