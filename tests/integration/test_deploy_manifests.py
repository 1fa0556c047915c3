"""deploy/: the compose file, the Kubernetes manifests, Prometheus, Grafana and the Dockerfile.

`deploy/check.sh` validates them offline with real tools (Docker Compose, kustomize,
kubernetes-validate, promtool, hadolint), installed once per version into the cache outside the
repo. The committed files must pass; copies broken in a known way must fail at the right check.
The containers themselves cannot start here (no Docker engine): see deploy/README.md.
Without Go (the compose and kustomize builds) the tests are skipped, except under CI=true.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "luna-admin-bus.json"


def _check(deploy: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(deploy / "check.sh"), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def tools() -> None:
    missing = [t for t in ("go", "python3", "apt-get") if shutil.which(t) is None]
    if missing:
        msg = f"{', '.join(missing)} not found: deploy/check.sh builds its tools with them"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    # Cold: builds docker-compose and kustomize with Go, pip-installs the PyPI tools (minutes).
    done = _check(DEPLOY, "install", timeout=1800)
    assert done.returncode == 0, f"deploy/check.sh install failed:\n{done.stdout}{done.stderr[-6000:]}"


def test_committed_deploy_files_pass_every_check(tools: None) -> None:
    done = _check(DEPLOY)
    assert done.returncode == 0, f"deploy/check.sh failed:\n{done.stdout}{done.stderr}"
    for stage in ("compose", "k8s", "prometheus", "grafana", "dockerfile"):
        assert f"ok    {stage}" in done.stdout


# (file under deploy/, text to replace, replacement, stage that must fail, words of the failure)
BREAKS = {
    "compose: unknown key": (
        "compose/compose.yaml", "stop_grace_period: 45s", "stop_grace_periodd: 45s",
        "compose", "stop_grace_periodd"),
    "compose: depends on a service that does not exist": (
        "compose/compose.yaml", '    command: ["run", "--roles", "relay"]\n',
        '    command: ["run", "--roles", "relay"]\n    depends_on: [nosuch]\n',
        "compose", 'undefined service "nosuch"'),
    "compose: bind mount of a missing file": (
        "compose/compose.yaml", "./rabbitmq/enabled_plugins:", "./rabbitmq/enabled-plugins:",
        "compose", "does not exist"),
    "k8s: misspelled probe field": (
        "k8s/deployment-relay.yaml", "timeoutSeconds: 3\n            failureThreshold: 24",
        "timeoutSecond: 3\n            failureThreshold: 24", "k8s", "'timeoutSecond' was unexpected"),
    "k8s: unknown kind": (
        "k8s/pdb-consumer.yaml", "kind: PodDisruptionBudget", "kind: PodDisruptionBudgett",
        "k8s", "Couldn't find schema"),
    "k8s: readiness probe on the liveness path": (
        "k8s/deployment-consumer.yaml", "path: /readyz", "path: /healthz",
        "k8s", "readinessProbe must GET /readyz"),
    "prometheus: invalid duration": (
        "prometheus/prometheus.yml", "scrape_interval: 15s", "scrape_interval: fifteen",
        "prometheus", "not a valid duration"),
    "prometheus: alert test expects the wrong value": (
        "prometheus/rules.test.yml", "7m 0s", "8m 0s", "prometheus", "alertname: LunaOutboxLagHigh"),
    "grafana: metric outside the contract": (
        "grafana/dashboards/luna-admin-bus.json", "max(luna_dlq_messages)", "max(luna_dead_letters)",
        "grafana", "luna_dead_letters is not in the metric contract"),
    "grafana: query that is not PromQL": (
        "grafana/dashboards/luna-admin-bus.json", "max by (queue) (luna_queue_depth)",
        "max by (queue) (luna_queue_depth", "prometheus", "unclosed left parenthesis"),
    "dockerfile: unpinned apt-get install": (
        "Dockerfile", "FROM ${PYTHON_IMAGE}\nLABEL",
        "FROM ${PYTHON_IMAGE}\nRUN apt-get update && apt-get install -y curl\nLABEL", "dockerfile", "DL3008"),
}


@pytest.mark.parametrize(("path", "old", "new", "stage", "words"), list(BREAKS.values()), ids=list(BREAKS))
def test_a_broken_copy_fails_at_the_right_check(tools: None, tmp_path: Path, path: str, old: str, new: str,
                                                stage: str, words: str) -> None:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("local", "__pycache__"))
    target = copy / path
    text = target.read_text()
    assert old in text, f"the break no longer applies to deploy/{path}: update BREAKS"
    target.write_text(text.replace(old, new, 1))
    done = _check(copy)
    assert done.returncode == 1, f"check.sh accepted a broken deploy/{path}:\n{done.stdout}{done.stderr}"
    assert f"FAIL  {stage}" in done.stdout, done.stdout
    assert words in done.stdout, done.stdout


# --- without tools: the contract and the wiring between files ------------------------------------

def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_dashboard_query_uses_a_contract_metric() -> None:
    contract = _load(DEPLOY / "grafana" / "check_dashboard.py")
    dash = json.loads(DASHBOARD.read_text())
    series = {n + s for n, kind in contract.CONTRACT.items()
              for s in (("_bucket", "_sum", "_count") if kind == "histogram" else ("",))}
    used = set()
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    assert panels
    for p in panels:
        assert p["targets"], f"panel {p['title']!r} has no query"
        for t in p["targets"]:
            names = set(re.findall(r"\bluna_\w+", t["expr"]))
            assert names, f"panel {p['title']!r}: {t['expr']!r} uses no contract metric"
            assert names <= series, f"panel {p['title']!r}: {sorted(names - series)} not in the contract"
            used |= names
    assert {n for n in contract.CONTRACT if any(u.startswith(n) for u in used)} == set(contract.CONTRACT)
    assert contract.check(DASHBOARD)[0] == []


def test_readme_lists_the_same_metric_contract() -> None:
    contract = _load(DEPLOY / "grafana" / "check_dashboard.py")
    readme = (DEPLOY / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(luna_\w+)` \| (\w+) \|", readme, flags=re.M))
    assert rows == contract.CONTRACT


def test_dashboard_uid_is_where_the_service_points() -> None:
    # account/service commands hand out settings.grafana_url: it must open this dashboard.
    uid = json.loads(DASHBOARD.read_text())["uid"]
    assert Settings.model_fields["grafana_url"].default.rstrip("/").endswith(f"/d/{uid}")


def test_the_image_gets_every_package_the_project_installs() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    tops = {p.split(".")[0] for p in packages}
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for top in sorted(tops):
        assert f"COPY {top}/ {top}/" in dockerfile, f"deploy/Dockerfile does not copy {top}/"
        assert f"!{top}/" in ignore, f"deploy/Dockerfile.dockerignore keeps {top}/ out of the context"
    # The image installs the package non-editable: a sub-package missing from pyproject's list
    # works in the dev venv (editable) and fails with ImportError only in the container.
    found = {".".join(d.relative_to(ROOT).parts) for top in tops for d in (ROOT / top).rglob("*")
             if d.is_dir() and (d / "__init__.py").is_file()}
    assert found <= set(packages), f"not in [tool.setuptools] packages: {sorted(found - set(packages))}"


def test_compose_runs_each_role_with_the_settings_and_a_health_check() -> None:
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    services = compose["services"]
    roles = {name: svc["command"][-1] for name, svc in services.items()
             if svc.get("command", [""])[0] == "run"}
    assert roles == {"consumer": "consume", "relay": "relay", "worker": "work"}
    for name in roles:
        svc = services[name]
        env = svc["environment"]
        assert {"LUNA_MONGO__URL", "LUNA_AMQP__URL", "LUNA_KAFKA__BOOTSTRAP"} <= set(env)
        assert env["LUNA_LOG__JSON_LINES"] == "true"
        assert "replicaSet=rs0" in env["LUNA_MONGO__URL"]
        assert "127.0.0.1:9108/healthz" in " ".join(svc["healthcheck"]["test"])
        for server in ("mongo", "rabbitmq", "kafka"):
            assert svc["depends_on"][server]["condition"] == "service_healthy"
    assert "--replSet" in services["mongo"]["command"]
    assert "rs.initiate" in " ".join(services["mongo"]["healthcheck"]["test"])
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    assert kafka["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == 1
    plugins = (DEPLOY / "compose" / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_consistent_hash_exchange" in plugins and "rabbitmq_management" in plugins
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    scraped = {t for job in prometheus["scrape_configs"] for sc in job.get("static_configs", [])
               for t in sc["targets"]}
    assert {f"{name}:9108" for name in roles} <= scraped
