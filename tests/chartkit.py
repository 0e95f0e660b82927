"""Helpers for the chart tests: helm (built by devcluster.helmtool), rendering, and a
ServiceAccount token from the chart's own RBAC on the local control plane."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

import kube
from devcluster import controlplane, helmtool
from tests.conftest import kubectl

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "chart"
RELEASE = "kmm"
RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")

# helm keeps its own config, cache and data out of the user's home.
_HELM_HOME = tempfile.mkdtemp(prefix="kmm-helm-home-")


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM_CACHE_HOME": f"{_HELM_HOME}/cache",
           "HELM_CONFIG_HOME": f"{_HELM_HOME}/config", "HELM_DATA_HOME": f"{_HELM_HOME}/data"}
    result = subprocess.run([str(helmtool.helm_binary()), *args], capture_output=True, text=True,
                            timeout=120, check=False, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def values_file(values: dict[str, Any] | None) -> str:
    descriptor, path = tempfile.mkstemp(suffix=".yaml", prefix="kmm-values-")
    with os.fdopen(descriptor, "w") as handle:
        yaml.safe_dump(values or {}, handle)
    return path


def render(namespace: str, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """`helm template` of the chart into `namespace`, as parsed objects."""
    out = helm("template", RELEASE, str(CHART), "--namespace", namespace,
               "-f", values_file(values)).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def env_of(objects: list[dict[str, Any]]) -> dict[str, str]:
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def as_stream(objects: list[dict[str, Any]]) -> str:
    return "\n---\n".join(yaml.safe_dump(o) for o in objects)


def install_rbac(namespace: str, values: dict[str, Any] | None = None) -> str:
    """Create the rendered ServiceAccount and RBAC for real; return a token for the account."""
    objects = render(namespace, values)
    for role in [o for o in objects if o["kind"] == "Role"]:  # KubeAI's namespace, say
        kube.create_namespace(kube.default_cluster().as_app(), role["metadata"]["namespace"],
                              exist_ok=True)
    kubectl("apply", "-f", "-", stdin=as_stream([o for o in objects if o["kind"] in RBAC_KINDS]))
    account = one(objects, "ServiceAccount")["metadata"]["name"]
    # The TokenRequest API (serviceaccounts/token), as `kubectl create token` calls it.
    return kubectl("create", "token", account, "-n", namespace, "--duration=1h").strip()


def token_kubeconfig(token: str, path: Path) -> Path:
    """A kubeconfig for the test cluster whose only user is the bearer `token`."""
    config = yaml.safe_load(Path(current_plane().kubeconfig).read_text())
    cluster = config["clusters"][0]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": "kmm-chart", "user": {"token": token}}],
        "contexts": [{"name": "kmm-chart",
                      "context": {"cluster": cluster["name"], "user": "kmm-chart"}}],
        "current-context": "kmm-chart",
    }))
    path.chmod(0o600)
    return path


def kubectl_run(*args: str, stdin: str | None = None,
                kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    """kubectl against the test cluster (as admin unless `kubeconfig` is given), with its exit
    code and stderr (warnings) kept."""
    binary = controlplane.build_binaries() / "kubectl"
    config = kubeconfig or current_plane().kubeconfig
    return subprocess.run([str(binary), f"--kubeconfig={config}", *args],
                          input=stdin, capture_output=True, text=True, timeout=60, check=False)


def current_plane() -> controlplane.ControlPlane:
    from tests.conftest import _started

    return _started[-1]


def watch_models(caller: kube.Caller, namespace: str, token: str) -> list[dict[str, Any]]:
    """One bounded watch of the Models in `namespace` with `token`: the events it streams.

    The service layer has no watch of its own yet, so this is the HTTP call a watch makes.
    """
    config = yaml.safe_load(Path(current_plane().kubeconfig).read_text())
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    url = (f"{caller.cluster.server}/apis/kubeai.org/v1/namespaces/{namespace}/models"
           "?watch=true&timeoutSeconds=1&allowWatchBookmarks=false")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    context = ssl.create_default_context(cadata=ca)
    with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
        return [json.loads(line) for line in response.read().decode().splitlines() if line]
