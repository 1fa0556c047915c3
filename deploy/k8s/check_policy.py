"""What the schemas cannot say: the rules these manifests promise (deploy/README.md).

    python check_policy.py RENDERED.yaml      # the output of `kustomize build deploy/k8s`

Every Deployment: the three roles exist with their replica counts, probes on :9108 (/healthz live,
/readyz ready), requests and limits for CPU and memory, non-root with no privilege escalation and a
read-only root filesystem, config from the ConfigMap and the Secret. The consumer has a PDB whose
selector matches it, and the metrics Service selects the pods. Needs PyYAML.
"""

from __future__ import annotations

import sys

import yaml

PORT = 9108
ROLES = {"luna-admin-bus-consumer": ("consume", 2), "luna-admin-bus-relay": ("relay", 1),
         "luna-admin-bus-worker": ("work", 2)}


def port_of(probe: dict, ports: dict[str, int]) -> int | None:
    p = probe.get("httpGet", {}).get("port")
    return ports.get(p) if isinstance(p, str) else p


def check_deployment(d: dict, errors: list[str]) -> None:
    name = d["metadata"]["name"]
    spec = d["spec"]
    pod = spec["template"]["spec"]
    where = f"Deployment {name}"
    role, replicas = ROLES.get(name, (None, None))
    if role is None:
        errors.append(f"{where}: not one of the known roles {sorted(ROLES)}")
    elif spec.get("replicas") != replicas:
        errors.append(f"{where}: replicas {spec.get('replicas')}, expected {replicas}")
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        errors.append(f"{where}: pod securityContext.runAsNonRoot must be true")
    if pod.get("automountServiceAccountToken") is not False:
        errors.append(f"{where}: the service needs no API token (automountServiceAccountToken: false)")
    for c in pod["containers"]:
        cw = f"{where} container {c['name']}"
        args = c.get("args", [])
        if role and args[-2:] != ["--roles", role]:
            errors.append(f"{cw}: args {args} do not run role {role!r}")
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        if PORT not in ports.values():
            errors.append(f"{cw}: no containerPort {PORT}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            pr = c.get(probe)
            if not pr or pr.get("httpGet", {}).get("path") != path or port_of(pr, ports) != PORT:
                errors.append(f"{cw}: {probe} must GET {path} on {PORT}")
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    errors.append(f"{cw}: no resources.{kind}.{r}")
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{cw}: allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            errors.append(f"{cw}: readOnlyRootFilesystem must be true")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            errors.append(f"{cw}: capabilities must drop ALL")
        refs = {(k, v["name"]) for e in c.get("envFrom", []) for k, v in e.items()}
        for want in (("configMapRef", "luna-admin-bus-config"), ("secretRef", "luna-admin-bus-secrets")):
            if want not in refs:
                errors.append(f"{cw}: envFrom lacks {want[0]} {want[1]}")


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def main(path: str) -> int:
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    errors: list[str] = []
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    for name in sorted(set(ROLES) - set(deployments)):
        errors.append(f"no Deployment {name}")
    for d in deployments.values():
        check_deployment(d, errors)
    consumer = deployments.get("luna-admin-bus-consumer")
    if consumer:
        pod_labels = consumer["spec"]["template"]["metadata"]["labels"]
        if not any(selects(p["spec"].get("selector", {}).get("matchLabels", {}), pod_labels)
                   for p in by_kind.get("PodDisruptionBudget", [])):
            errors.append("no PodDisruptionBudget selects the consumer pods")
    services = by_kind.get("Service", [])
    for name, d in deployments.items():
        labels = d["spec"]["template"]["metadata"]["labels"]
        if not any(selects(s["spec"].get("selector", {}), labels)
                   and any(p.get("port") == PORT for p in s["spec"].get("ports", [])) for s in services):
            errors.append(f"no Service exposes port {PORT} of {name}'s pods")
    for k in ("Namespace", "ConfigMap", "Secret"):
        if k not in by_kind:
            errors.append(f"no {k}")
    for e in errors:
        print(e)
    if not errors:
        print(f"policy: {len(deployments)} Deployments, probes, resources, non-root, PDB, metrics Service")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
