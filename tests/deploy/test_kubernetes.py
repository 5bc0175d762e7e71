"""deploy/kubernetes, read as a cluster would (no cluster here: the manifests are parsed and
checked for what they must say; .ci/policy-scan runs checkov on them).

Applied, they must run two replicas after a schema-upgrade Job, with probes, limits, a
read-only root filesystem and /metrics kept inside the cluster."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cds_service.auth import resolve_auth
from cds_service.core.settings import ENV_PREFIX, Settings, settings_table
from tests.deploy.test_dockerfile import instructions
from tests.deploy.tooling import ROOT

BASE = ROOT / "deploy" / "kubernetes"
NAMESPACE = "mr-cds"


def kustomization() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((BASE / "kustomization.yaml").read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    docs = []
    for name in kustomization()["resources"]:
        docs += [d for d in yaml.safe_load_all((BASE / name).read_text(encoding="utf-8")) if d]
    return docs


def one(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


@pytest.fixture(scope="module")
def deployment(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return one(resources, "Deployment", "mr-cds")


@pytest.fixture(scope="module")
def job(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return one(resources, "Job", "mr-cds-db-upgrade")


@pytest.fixture(scope="module")
def settings_map(resources: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = one(resources, "ConfigMap", "mr-cds-settings")["data"]
    return data


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def mounts(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Mount path -> the volume mounted there."""
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    return {m["mountPath"]: volumes[m["name"]] for m in container(workload)["volumeMounts"]}


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# --------------------------------------------------------------------------- the set


def test_every_file_is_listed_and_every_resource_is_in_the_namespace(resources: list[dict[str, Any]]) -> None:
    listed = set(kustomization()["resources"])
    shipped = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == shipped
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == NAMESPACE, resource["metadata"]["name"]
    assert kustomization()["namespace"] == NAMESPACE


def test_the_namespace_enforces_the_restricted_pod_security_standard(resources: list[dict[str, Any]]) -> None:
    labels = one(resources, "Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


# --------------------------------------------------------------------------- Deployment


def test_two_replicas_at_least_replaced_one_at_a_time(deployment: dict[str, Any]) -> None:
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert selects(deployment["spec"]["selector"]["matchLabels"], pod_labels(deployment))


def test_readiness_asks_readyz_and_liveness_healthz_on_the_service_port(deployment: dict[str, Any]) -> None:
    main = container(deployment)
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    assert ports["http"] == 8080
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_the_replicas_run_the_images_command_on_port_8080(deployment: dict[str, Any]) -> None:
    (cmd,) = [a for k, a in instructions() if k == "CMD"]
    assert container(deployment)["command"] == json.loads(cmd)
    assert "--port" in json.loads(cmd)
    assert json.loads(cmd)[json.loads(cmd).index("--port") + 1] == "8080"


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_pods_run_as_the_images_non_root_user_on_a_read_only_root(
    resources: list[dict[str, Any]], kind: str
) -> None:
    (workload,) = [r for r in resources if r["kind"] == kind]
    pod = workload["spec"]["template"]["spec"]
    (user,) = [a for k, a in instructions() if k == "USER"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == user
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    security = container(workload)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_every_container_has_cpu_and_memory_requests_and_limits(
    resources: list[dict[str, Any]], kind: str
) -> None:
    (workload,) = [r for r in resources if r["kind"] == kind]
    limits = container(workload)["resources"]
    for bound in ("requests", "limits"):
        assert set(limits[bound]) == {"cpu", "memory"}, bound


def test_the_metrics_files_and_tmp_are_writable_empty_dirs(
    deployment: dict[str, Any], settings_map: dict[str, str]
) -> None:
    # Read-only root: the workers share metric files in PROMETHEUS_MULTIPROC_DIR, and
    # gunicorn keeps its worker heartbeat files in the temporary folder.
    mounted = mounts(deployment)
    assert "emptyDir" in mounted[settings_map["PROMETHEUS_MULTIPROC_DIR"]]
    assert "emptyDir" in mounted["/tmp"]


def test_the_schema_is_upgraded_by_the_job_not_by_the_replicas(
    deployment: dict[str, Any], job: dict[str, Any], settings_map: dict[str, str]
) -> None:
    assert settings_map["MRCDS_DATABASE_UPGRADE_ON_START"] == "false"
    assert container(job)["command"] == ["mr-cds", "db", "upgrade"]
    assert container(job)["image"] == container(deployment)["image"]
    assert container(job)["envFrom"] == container(deployment)["envFrom"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    assert job["spec"]["backoffLimit"] >= 1


# --------------------------------------------------------------------------- settings and secrets


def test_the_configmap_sets_only_real_settings(settings_map: dict[str, str]) -> None:
    known = {variable for variable, _, _ in settings_table()}
    variables = {k for k in settings_map if k.startswith(ENV_PREFIX)}
    assert variables <= known, variables - known
    assert "MRCDS_DATABASE_URL" not in settings_map  # the URL carries a password: a secret file


def generated_secret(name: str) -> dict[str, str]:
    """Key -> source file of a kustomize-generated secret."""
    (entry,) = [s for s in kustomization()["secretGenerator"] if s["name"] == name]
    return dict(item.split("=", 1) for item in entry["files"])


@pytest.mark.parametrize(
    ("variable", "secret"),
    [("MRCDS_DATABASE_URL_FILE", "mr-cds-database"), ("MRCDS_TRUSTED_ISSUERS", "mr-cds-issuers")],
)
def test_secret_files_are_where_the_settings_look_for_them(
    deployment: dict[str, Any], settings_map: dict[str, str], variable: str, secret: str
) -> None:
    path = Path(settings_map[variable])
    volume = mounts(deployment)[str(path.parent)]
    assert volume["secret"]["secretName"] == secret
    assert path.name in generated_secret(secret)


def test_the_job_mounts_the_database_secret_as_the_replicas_do(
    deployment: dict[str, Any], job: dict[str, Any], settings_map: dict[str, str]
) -> None:
    folder = str(Path(settings_map["MRCDS_DATABASE_URL_FILE"]).parent)
    assert mounts(job)[folder] == mounts(deployment)[folder]


def test_the_secret_files_are_never_committed() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    for name in ("mr-cds-database", "mr-cds-issuers"):
        for source in generated_secret(name).values():
            assert f"deploy/kubernetes/{Path(source).parent}/" in ignored, source


@pytest.fixture
def mounted_secrets(tmp_path: Path, settings_map: dict[str, str]) -> dict[str, str]:
    """The configmap's settings with the secret paths pointing at files as a site makes them."""
    url = tmp_path / "url"
    url.write_text(
        "postgresql+psycopg://mrcds:secret@postgres.example.internal:5432/mrcds?connect_timeout=3\n"
    )
    issuers = tmp_path / "issuers.json"
    issuers.write_text((ROOT / "deploy" / "issuers.example.json").read_text(encoding="utf-8"))
    env = {k: v for k, v in settings_map.items() if k.startswith(ENV_PREFIX)}
    env.update({"MRCDS_DATABASE_URL_FILE": str(url), "MRCDS_TRUSTED_ISSUERS": str(issuers)})
    return env


def test_the_configmap_passes_the_services_start_up_checks(mounted_secrets: dict[str, str]) -> None:
    settings = Settings.load(environ=mounted_secrets)
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.metrics
    auth = resolve_auth(settings, "0.0.0.0", warn=False)  # the container's address: JWT required
    assert auth.enabled


# --------------------------------------------------------------------------- reaching the pods


def test_the_service_exposes_the_service_port_only(
    resources: list[dict[str, Any]], deployment: dict[str, Any]
) -> None:
    service = one(resources, "Service", "mr-cds")
    assert service["spec"]["type"] == "ClusterIP"
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    assert selects(service["spec"]["selector"], pod_labels(deployment))


def test_metrics_have_their_own_port_open_to_the_monitoring_namespace_only(
    resources: list[dict[str, Any]], deployment: dict[str, Any], settings_map: dict[str, str]
) -> None:
    assert settings_map["MRCDS_METRICS"] == "on"
    metrics_port = int(settings_map["MRCDS_METRICS_PORT"])
    ports = {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}
    assert ports["metrics"] == metrics_port
    policy = one(resources, "NetworkPolicy", "mr-cds")
    assert selects(policy["spec"]["podSelector"]["matchLabels"], pod_labels(deployment))
    assert "Ingress" in policy["spec"]["policyTypes"]
    by_port: dict[int, list[Any]] = {}
    for rule in policy["spec"]["ingress"]:
        for port in rule["ports"]:
            by_port.setdefault(port["port"], []).extend(rule["from"])
    assert set(by_port) == {8080, metrics_port}
    assert by_port[metrics_port] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    assert all("ipBlock" not in peer for peer in by_port[metrics_port])


def test_the_job_pod_takes_no_connections(resources: list[dict[str, Any]], job: dict[str, Any]) -> None:
    policy = one(resources, "NetworkPolicy", "mr-cds-db-upgrade")
    assert selects(policy["spec"]["podSelector"]["matchLabels"], pod_labels(job))
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert "ingress" not in policy["spec"]


# --------------------------------------------------------------------------- scaling and disruption


def test_the_autoscaler_scales_the_deployment_on_cpu_from_two(resources: list[dict[str, Any]]) -> None:
    hpa = one(resources, "HorizontalPodAutoscaler", "mr-cds")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "mr-cds"}
    assert hpa["spec"]["minReplicas"] >= 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"


def test_a_drain_keeps_one_replica_ready(resources: list[dict[str, Any]], deployment: dict[str, Any]) -> None:
    pdb = one(resources, "PodDisruptionBudget", "mr-cds")
    assert pdb["spec"]["minAvailable"] == 1
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod_labels(deployment))


def test_the_image_named_in_the_manifests_is_the_one_kustomize_retags(deployment: dict[str, Any]) -> None:
    (image,) = kustomization()["images"]
    assert container(deployment)["image"].split(":")[0] == image["name"]
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", image["newTag"])
