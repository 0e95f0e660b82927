"""The Helm chart: lint, render, the schema, and every object checked by the real API server."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

import kube
from kube.watches import RBAC_KINDS
from tests.chartkit import (
    CHART,
    RELEASE,
    as_stream,
    by_kind,
    env_of,
    helm,
    kubectl_run,
    one,
    render,
    values_file,
)
from tests.conftest import kubectl
from tests.consolekit import ensure_namespace

RBAC_RESOURCES = {resource for resource, _ in RBAC_KINDS}  # what kmm watches of RBAC

VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespaced-rbac": {"rbac": {"namespaces": ["__extra__"]}},
    "proxy-mode": {"auth": {"mode": "proxy", "proxy": {"trustedCIDRs": ["10.0.0.0/8"],
                                                       "impersonableGroups": ["ml-team"]}}},
    "public-ingress": {"ingress": {"enabled": True, "host": "kmm.example.com",
                                   "tls": [{"secretName": "kmm-tls",
                                            "hosts": ["kmm.example.com"]}]},
                       "publicIngress": {"enabled": True, "host": "models.example.com"}},
    "network-policy": {"networkPolicy": {"enabled": True,
                                         "apiServerCIDRs": ["10.96.0.1/32"],
                                         "ingressFrom": [{"namespaceSelector": {"matchLabels": {
                                             "kubernetes.io/metadata.name": "ingress-nginx"}}}]}},
    "no-auth": {"auth": {"mode": "none"}, "publication": {"mode": "all"}},
}


def variant(name: str, extra_namespace: str = "unused") -> dict[str, Any]:
    values = json.loads(json.dumps(VARIANTS[name]).replace("__extra__", extra_namespace))
    return values


@pytest.fixture(autouse=True)
def kubeai_namespace(request: pytest.FixtureRequest) -> None:
    """KubeAI's namespace, where the chart reads KubeAI's config (kubeai.config's default)."""
    if "admin" in request.fixturenames or "control_plane" in request.fixturenames:
        ensure_namespace(request.getfixturevalue("admin"), "kubeai")


def unique(prefix: str = "chart") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --- lint and render ----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(VARIANTS))
def test_it_lints_strictly(name: str) -> None:
    result = helm("lint", "--strict", str(CHART), "-f", values_file(variant(name)))
    assert "0 chart(s) failed" in result.stdout


def test_it_renders_the_documented_objects_with_standard_labels() -> None:
    objects = render("kmm-system")
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment",
                     "PodDisruptionBudget",
                     "Role", "Role",  # KubeAI's system ConfigMap by name; the sign-out record
                     "RoleBinding", "RoleBinding", "Secret", "Service", "ServiceAccount"]
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels["helm.sh/chart"] == "kmm-0.1.0"
        assert labels["app.kubernetes.io/name"] == "kmm"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == "0.1.0"


def test_the_deployment_runs_restricted_with_probes_resources_and_tmp() -> None:
    pod = one(render("kmm-system"), "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]["memory"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_the_environment_carries_the_settings_by_their_documented_names() -> None:
    env = env_of(render("kmm-system", variant("proxy-mode")))
    assert env["KMM_AUTH_MODE"] == "proxy"
    assert env["KMM_PROXY_USER_HEADER"] == "X-Forwarded-User"
    assert env["KMM_PROXY_GROUPS_HEADER"] == "X-Forwarded-Groups"
    assert env["KMM_PROXY_TRUSTED_CIDRS"] == "10.0.0.0/8"
    assert env["KMM_PUBLISH_MODE"] == "annotation"
    assert env["KMM_SECRET_KEY_FILE"] == "/etc/kmm/secret-key/secret-key"
    assert env["KMM_SECURE_COOKIES"] == "true"
    assert {"KMM_ALLOWED_HOSTS", "KMM_CSRF_TRUSTED_ORIGINS", "KMM_NAMESPACES",
            "KMM_PUBLISH_NAMESPACES", "KMM_KUBE_TIMEOUT", "KMM_LOG_LEVEL", "KMM_WORKERS",
            "KMM_THREADS", "PORT"} <= set(env)
    assert "KMM_SECRET_KEY" not in env  # only ever from the mounted Secret
    assert "KMM_DEBUG" not in env


def test_the_default_auth_mode_is_token_and_hosts_come_from_the_ingresses() -> None:
    env = env_of(render("kmm-system", variant("public-ingress")))
    assert env["KMM_AUTH_MODE"] == "token"
    hosts = env["KMM_ALLOWED_HOSTS"].split(",")
    assert {"kmm.example.com", "models.example.com", "$(POD_IP)", "kmm.kmm-system.svc"} <= set(hosts)
    assert env["KMM_CSRF_TRUSTED_ORIGINS"] == "https://kmm.example.com"


def test_the_public_ingress_is_separate_and_exposes_only_the_public_list() -> None:
    ingresses = {i["metadata"]["name"]: i for i in by_kind(render("ns", variant("public-ingress")),
                                                            "Ingress")}
    assert set(ingresses) == {"kmm", "kmm-public"}
    public_paths = [p for rule in ingresses["kmm-public"]["spec"]["rules"]
                    for p in rule["http"]["paths"]]
    assert [(p["path"], p["pathType"]) for p in public_paths] == [("/public/api/models", "Exact")]
    assert ingresses["kmm-public"]["spec"]["rules"][0]["host"] == "models.example.com"


def test_namespaced_rbac_makes_roles_in_the_listed_namespaces_only() -> None:
    objects = render("kmm-system", {"rbac": {"namespaces": ["team-a", "team-b"]}})
    objects = [o for o in objects  # less the sign-out record's own Role (test_chart_security)
               if not o["metadata"]["name"].endswith("revoked-sessions")]
    roles = by_kind(objects, "Role")
    # Plus the Role reading KubeAI's system ConfigMap, in KubeAI's namespace.
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["kubeai", "team-a", "team-b"]
    assert sorted(b["metadata"]["namespace"] for b in by_kind(objects, "RoleBinding")) == [
        "kubeai", "team-a", "team-b"]
    cluster_resources = {r for rule in one(objects, "ClusterRole")["rules"]
                         for r in rule["resources"]}
    assert cluster_resources == {"selfsubjectreviews", "selfsubjectaccessreviews",
                                 "selfsubjectrulesreviews", "customresourcedefinitions", "nodes",
                                 *RBAC_RESOURCES}
    assert env_of(objects)["KMM_NAMESPACES"] == "team-a,team-b"


@pytest.mark.parametrize(("mode", "writes", "impersonates"), [
    ("token", False, False), ("proxy", False, True), ("none", True, False)])
def test_rbac_grants_only_what_each_auth_mode_uses(mode: str, writes: bool,
                                                   impersonates: bool) -> None:
    values: dict[str, Any] = {"auth": {"mode": mode, "proxy": {"trustedCIDRs": ["10.0.0.0/8"]}}}
    rules = one(render("kmm-system", values), "ClusterRole")["rules"]
    granted = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}
    model_verbs = {v for g, r, v in granted if r == "models"}
    assert model_verbs == ({"get", "list", "watch", "create", "update", "patch", "delete"}
                           if writes else {"get", "list", "watch"})
    assert {v for g, r, v in granted if r == "namespaces"} == {"get", "list", "watch"}
    assert {v for g, r, v in granted if r == "events"} == {"list", "watch"}
    assert {v for g, r, v in granted if r in ("users", "groups")} == (
        {"impersonate"} if impersonates else set())
    assert {v for g, r, v in granted if r in ("pods", "nodes")} == {"list", "watch"}
    # RBAC: read and watched (kube.access remembers answers until it changes), never written.
    assert {(g, r, v) for g, r, v in granted if r in RBAC_RESOURCES} == {
        ("rbac.authorization.k8s.io", r, v) for r in RBAC_RESOURCES for v in ("list", "watch")}
    assert {r for g, r, v in granted} <= {"models", "namespaces", "events", "users", "groups",
                                          "selfsubjectreviews", "selfsubjectaccessreviews",
                                          "selfsubjectrulesreviews", "customresourcedefinitions",
                                          "pods", "nodes", *RBAC_RESOURCES}
    crd_rule, = [rule for rule in rules if rule["resources"] == ["customresourcedefinitions"]]
    assert crd_rule["resourceNames"] == ["models.kubeai.org"]
    assert crd_rule["verbs"] == ["get", "list", "watch"]
    assert "*" not in {x for triple in granted for x in triple}


def test_the_secret_key_is_generated_when_no_existing_secret_is_named() -> None:
    secret = one(render("kmm-system"), "Secret")
    assert len(base64.b64decode(secret["data"]["secret-key"])) == 64
    objects = render("kmm-system", {"secretKey": {"existingSecret": "mine", "key": "k"}})
    assert not by_kind(objects, "Secret")
    volumes = one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"secretName": "mine", "defaultMode": 0o440,
            "items": [{"key": "k", "path": "k"}]} in [v.get("secret") for v in volumes]


@pytest.mark.parametrize(("values", "complaint"), [
    ({"auth": {"mode": "basic"}}, "auth/mode"),
    ({"auth": {"mode": "proxy"}}, "trustedCIDRs"),
    ({"auth": {"proxy": {"trustedCIDRs": ["not-a-cidr"]}}}, "trustedCIDRs"),
    ({"replicaCount": "two"}, "replicaCount"),
    ({"replicas": 3}, "replicas"),
    ({"publication": {"mode": "namespaces"}}, "namespaces"),
    ({"publication": {"mode": "everything"}}, "publication/mode"),
    ({"ingress": {"enabled": True}}, "host"),
    ({"rbac": {"namespaces": ["Not_A_Namespace"]}}, "rbac/namespaces"),
    ({"server": {"workers": 0}}, "workers"),
])
def test_the_schema_rejects_bad_values(values: dict[str, Any], complaint: str) -> None:
    result = helm("template", RELEASE, str(CHART), "-f", values_file(values), check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert complaint in result.stderr


# --- the API server's verdict ---------------------------------------------------------------

def server_dry_run(objects: list[dict[str, Any]]) -> str:
    return kubectl("apply", "--dry-run=server", "-f", "-", stdin=as_stream(objects))


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_rendered_object_passes_a_server_side_dry_run(name: str, admin: kube.Caller) -> None:
    namespace, extra = unique(), unique("team")
    kube.create_namespace(admin, namespace)
    kube.create_namespace(admin, extra)
    objects = render(namespace, variant(name, extra))

    output = server_dry_run(objects)

    for obj in objects:
        assert f"/{obj['metadata']['name']} created (server dry run)" in output, (obj, output)
    assert output.count("created (server dry run)") == len(objects)


def test_the_pod_is_admitted_under_the_restricted_pod_security_profile(admin: kube.Caller) -> None:
    namespace = unique()
    kubectl("create", "namespace", namespace)
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/warn=restricted")
    objects = render(namespace)
    kubectl("apply", "-f", "-", stdin=as_stream(by_kind(objects, "ServiceAccount")))
    template = one(objects, "Deployment")["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "kmm-probe", "namespace": namespace, **template["metadata"]},
           "spec": template["spec"]}

    output = server_dry_run([pod])
    deployment = kubectl_run("apply", "--dry-run=server", "-f", "-",
                             stdin=as_stream(by_kind(objects, "Deployment")))

    assert "pod/kmm-probe created (server dry run)" in output
    assert deployment.returncode == 0, deployment.stderr
    assert "PodSecurity" not in deployment.stderr  # no "would violate" warning either


def test_a_root_container_would_be_refused_by_the_same_profile(admin: kube.Caller) -> None:
    namespace = unique()
    kubectl("create", "namespace", namespace)
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    objects = render(namespace, {"securityContext": {"runAsNonRoot": False},
                                 "podSecurityContext": {"runAsUser": 0}})
    kubectl("apply", "-f", "-", stdin=as_stream(by_kind(objects, "ServiceAccount")))
    template = one(objects, "Deployment")["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "kmm-root", "namespace": namespace}, "spec": template["spec"]}

    with pytest.raises(AssertionError, match="violates PodSecurity"):
        server_dry_run([pod])


def test_install_then_upgrade_keeps_the_generated_secret_key(admin: kube.Caller,
                                                             control_plane: Any) -> None:
    namespace = unique()
    kube.create_namespace(admin, namespace)
    kubeconfig = str(control_plane.kubeconfig)

    helm("install", RELEASE, str(CHART), "--namespace", namespace, "--kubeconfig", kubeconfig)
    first = kubectl("get", "secret", "kmm-secret-key", "-n", namespace,
                    "-o", "jsonpath={.data.secret-key}")
    helm("upgrade", RELEASE, str(CHART), "--namespace", namespace, "--kubeconfig", kubeconfig,
         "--set", "replicaCount=3")
    second = kubectl("get", "secret", "kmm-secret-key", "-n", namespace,
                     "-o", "jsonpath={.data.secret-key}")
    notes = helm("get", "notes", RELEASE, "--namespace", namespace, "--kubeconfig",
                 kubeconfig).stdout

    assert first
    assert second == first
    assert kubectl("get", "deployment", "kmm", "-n", namespace,
                   "-o", "jsonpath={.spec.replicas}") == "3"
    assert "auth.mode=token" in notes


def test_the_console_settings_and_catalog_mount() -> None:
    objects = render("kmm-system", {"kubeai": {"config": "ai/kubeai-config",
                                               "url": "http://kubeai.ai.svc",
                                               "catalogConfigMap": "kmm-catalog"}})
    env = env_of(objects)
    assert (env["KMM_KUBEAI_CONFIG"], env["KMM_KUBEAI_URL"], env["KMM_CATALOG"]) == (
        "ai/kubeai-config", "http://kubeai.ai.svc", "/etc/kmm/catalog/catalog.yaml")
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert {"name": "catalog", "mountPath": "/etc/kmm/catalog", "readOnly": True} in \
        pod["containers"][0]["volumeMounts"]
    assert {"name": "catalog", "configMap": {"name": "kmm-catalog", "items": [
        {"key": "catalog.yaml", "path": "catalog.yaml"}]}} in pod["volumes"]
    role = next(r for r in by_kind(objects, "Role") if r["metadata"]["name"].endswith("kubeai-config"))
    assert role["metadata"]["namespace"] == "ai"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": ["kubeai-config"],
                              "verbs": ["get", "list", "watch"]}]
    off = render("kmm-system", {"kubeai": {"config": "", "watchPodsAndNodes": False}})
    assert not [r for r in by_kind(off, "Role") if r["metadata"]["name"].endswith("kubeai-config")]
    assert "KMM_CATALOG" not in env_of(off)
    granted = {r for rule in one(off, "ClusterRole")["rules"] for r in rule["resources"]}
    assert not granted & {"pods", "nodes", "configmaps"}
