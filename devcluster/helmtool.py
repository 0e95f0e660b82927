"""Helm for the chart tests, built once from the Go module proxy and cached like the control plane.

`devcluster/helm` is a tiny Go module whose only content is a `tool` directive for
`helm.sh/helm/v3/cmd/helm` at HELM_VERSION; its go.sum pins every dependency. The binary lands
in ~/.cache/kmm/helm-<version>-<hash of go.mod and go.sum>/helm (`KMM_CACHE_DIR` moves it).
`KMM_HELM=/path/to/helm` uses an existing binary instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
from pathlib import Path

from devcluster.controlplane import CACHE_DIR, log, run_go_build

HELM_VERSION = "v3.20.2"
GO_MODULE = Path(__file__).resolve().parent / "helm"
HELM_PACKAGE = "helm.sh/helm/v3"


def build_key() -> str:
    digest = hashlib.sha256(HELM_VERSION.encode())
    for name in ("go.mod", "go.sum"):
        digest.update((GO_MODULE / name).read_bytes())
    return digest.hexdigest()[:12]


def helm_binary() -> Path:
    """The path of the helm binary, building it on first use."""
    existing = os.environ.get("KMM_HELM")
    if existing:
        return Path(existing)
    target = CACHE_DIR / f"helm-{HELM_VERSION}-{build_key()}"
    if (target / "helm").exists():
        return target / "helm"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, across processes
        if not (target / "helm").exists():
            _go_build(target)
    return target / "helm"


def _kubernetes_minor() -> str:
    """The minor version of the client-go that helm is built with, as helm's own Makefile uses."""
    match = re.search(r"^\s*k8s\.io/client-go v0\.(\d+)\.", (GO_MODULE / "go.mod").read_text(),
                      re.MULTILINE)
    if match is None:
        raise RuntimeError(f"k8s.io/client-go is not required in {GO_MODULE / 'go.mod'}")
    return match.group(1)


def _go_build(target: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is needed to build helm for the chart tests (or set KMM_HELM).")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    minor = _kubernetes_minor()
    # The same -X flags as helm's Makefile: the version `helm version` prints, and the
    # Kubernetes version `helm template` and `helm lint` assume (.Capabilities.KubeVersion).
    ldflags = " ".join([
        "-s -w",
        f"-X {HELM_PACKAGE}/internal/version.version={HELM_VERSION}",
        f"-X {HELM_PACKAGE}/internal/version.gitTreeState=clean",
        f"-X {HELM_PACKAGE}/pkg/lint/rules.k8sVersionMajor=1",
        f"-X {HELM_PACKAGE}/pkg/lint/rules.k8sVersionMinor={minor}",
        f"-X {HELM_PACKAGE}/pkg/chartutil.k8sVersionMajor=1",
        f"-X {HELM_PACKAGE}/pkg/chartutil.k8sVersionMinor={minor}",
    ])
    command = [go, "build", "-v", "-trimpath", "-ldflags", ldflags, "-o", f"{staging}/helm",
               f"{HELM_PACKAGE}/cmd/helm"]
    log(f"building helm {HELM_VERSION} (first run only; a few minutes on 2 cores) into {target}")
    run_go_build(command, GO_MODULE, "helm", env={**os.environ, "CGO_ENABLED": "0"})
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
