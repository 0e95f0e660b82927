"""KubeAI's controller, built once and cached beside the multi-call binary.

kube-apiserver, kube-scheduler, kube-controller-manager, kubectl and KWOK are one multi-call
binary of the Go module in devcluster/apiserver (controlplane.build_binaries). KubeAI cannot
join it (its code lives in `internal/` packages), so it builds from a patched copy of its
source; that copy's module graph is aligned with the multi-call binary's (every module both
use, at the newer of the two versions: k8s.io v0.36, controller-runtime as KWOK has it), so
the Go build cache compiles the packages they share once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from devcluster.controlplane import (
    CACHE_DIR,
    GO_BUILD_FLAGS,
    GO_MODULE,
    log,
    module_version,
    run_go_build,
)

KUBEAI_MODULE = "github.com/kubeai-project/kubeai"
KUBEAI_VERSION = "v0.22.1"
ROOT = Path(__file__).resolve().parent.parent

# kmm's patches to the cached copy of KubeAI's source: (file, original text, replacement).
_PATCHES = (
    # KubeAI hard-codes its OpenAI API address; a second fleet (tests beside `make run`)
    # needs another one. The copy reads it from KUBEAI_API_ADDR (default unchanged: ":8000").
    ("internal/manager/run.go", 'Addr:        ":8000",', "Addr:        kmmAPIAddr(),"),
    # otelhttp.WithRouteTag is gone from the otelhttp that Kubernetes v1.36's graph selects;
    # it only named the route in KubeAI's own telemetry, so the route handler is used as is.
    ("internal/openaiserver/handler.go", "otelhttp.WithRouteTag(pattern, routeHandler)",
     "routeHandler"),
    # The prometheus/common of that graph has no default metric-name scheme for a zero
    # TextParser (it panics on the first scrape); UTF-8 names are its default elsewhere.
    ("internal/modelautoscaler/metrics.go", "parser := expfmt.TextParser{}",
     "parser := expfmt.NewTextParser(model.UTF8Validation)"),
    ("internal/modelautoscaler/metrics.go", '"github.com/prometheus/common/expfmt"',
     '"github.com/prometheus/common/expfmt"\n\t"github.com/prometheus/common/model"'),
)
_API_ADDR_FUNC = '''
// kmmAPIAddr is kmm's patch of this cached copy: the OpenAI API address from
// KUBEAI_API_ADDR, so two local fleets can run side by side.
func kmmAPIAddr() string {
	if addr := os.Getenv("KUBEAI_API_ADDR"); addr != "" {
		return addr
	}
	return ":8000"
}
'''


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is needed to build the local fleet (or set KMM_FLEET=off).")
    return go


def _locked_build(target: Path, binary: str, build: Callable[[Path], None]) -> Path:
    if (target / binary).exists():
        return target / binary
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # One lock per artifact: the fleet's three builds may overlap with each other's downloads.
    with open(CACHE_DIR / f"{target.name.split('-')[0]}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / binary).exists():
            return target / binary
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        build(staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target / binary


# KWOK's default behaviour (what kwokctl writes into its config): nodes become Ready and
# keep a lease; pods become Ready, a Job's pods complete, deleted pods go.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)


def kwok_stages() -> str:
    """KWOK's default Stages as one YAML stream, from its module (kept beside the binary)."""
    version = module_version("sigs.k8s.io/kwok")
    saved = CACHE_DIR / f"kwok-{version}" / "stages.yaml"
    if saved.exists():
        return saved.read_text()
    result = subprocess.run([_go(), "mod", "download", "-json", f"sigs.k8s.io/kwok@{version}"],
                            capture_output=True, text=True, cwd=GO_MODULE, check=False)
    info = json.loads(result.stdout or "{}")
    if result.returncode != 0 or "Dir" not in info:
        raise RuntimeError(f"kwok {version} stages: {info.get('Error', result.stderr)}")
    text = "\n---\n".join((Path(info["Dir"]) / name).read_text().strip() for name in KWOK_STAGES)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(text + "\n")
    return text


def kubeai_source() -> Path:
    """KMM_KUBEAI_SRC, else ../shared/kubeai-src, else the module from the Go proxy."""
    named = os.environ.get("KMM_KUBEAI_SRC")
    if named:
        return Path(named)
    shared = ROOT.parent / "shared" / "kubeai-src"
    if (shared / "go.mod").exists():
        return shared
    log(f"downloading {KUBEAI_MODULE}@{KUBEAI_VERSION} through the Go module proxy")
    result = subprocess.run([_go(), "mod", "download", "-json", f"{KUBEAI_MODULE}@{KUBEAI_VERSION}"],
                            capture_output=True, text=True, cwd=CACHE_DIR, check=False)
    info = json.loads(result.stdout or "{}")
    if result.returncode != 0 or "Dir" not in info:
        raise RuntimeError(f"KubeAI's source is not available: set KMM_KUBEAI_SRC, or "
                           f"KMM_FLEET=off. {info.get('Error', result.stderr).strip()}")
    return Path(info["Dir"])


def _source_key(source: Path) -> str:
    digest = hashlib.sha256(repr((_PATCHES, _API_ADDR_FUNC, GO_BUILD_FLAGS)).encode())
    for name in ("go.mod", "go.sum"):  # the graph it is aligned with
        digest.update((GO_MODULE / name).read_bytes())
    for path in sorted(source.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            digest.update(str(path.relative_to(source)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def kubeai_binary() -> Path:
    """KubeAI's controller, built from a patched copy of its source under ~/.cache/kmm."""
    source = kubeai_source()
    key = _source_key(source)

    def build(staging: Path) -> None:
        copy = CACHE_DIR / f"kubeai-src-{key}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("*_test.go", ".git"))
        for path in copy.rglob("*"):
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
        _patch(copy)
        env = dict(os.environ, GOFLAGS="-mod=mod")
        _align_modules(copy, env)
        log(f"building KubeAI's controller from {source} (first run only; about 2 minutes "
            f"on 2 cores after the multi-call binary)")
        run_go_build([_go(), "build", "-v", *GO_BUILD_FLAGS, "-ldflags=-s -w",
                      "-o", str(staging / "kubeai"), "./cmd"], copy, "KubeAI", env=env)

    return _locked_build(CACHE_DIR / f"kubeai-{KUBEAI_VERSION}-{key}", "kubeai", build)


def _patch(copy: Path) -> None:
    for name, original, replacement in _PATCHES:
        path = copy / name
        text = path.read_text()
        if original not in text:
            raise RuntimeError(f"{path}: KubeAI's source changed; update kmm's patch of it")
        path.write_text(text.replace(original, replacement))
    run_go = copy / "internal" / "manager" / "run.go"
    run_go.write_text(run_go.read_text() + _API_ADDR_FUNC)


def _align_modules(copy: Path, env: dict[str, str]) -> None:
    """Require, in KubeAI's copy, every module of the multi-call binary's graph at the
    version that graph selects. Minimal version selection keeps the newer of the two, so
    shared packages get the same versions (and the same Go build cache entries), while
    modules that only KubeAI newer keeps stay as KubeAI wants them."""
    listed = subprocess.run([_go(), "list", "-m", "-f",
                             "{{.Path}} {{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}",
                             "all"], capture_output=True, text=True, cwd=GO_MODULE, check=True)
    # k8s.io/kubernetes itself is left out: its go.mod names its staging modules v0.0.0,
    # which only its own replace lines resolve.
    requires = [f"-require={path}@{version}" for path, version in
                (line.split() for line in listed.stdout.splitlines() if " v" in line)
                if path != "k8s.io/kubernetes"]
    subprocess.run([_go(), "mod", "edit", *requires], cwd=copy, env=env, check=True)
    tidy = subprocess.run([_go(), "mod", "tidy"], cwd=copy, env=env, capture_output=True,
                          text=True, check=False)
    if tidy.returncode != 0:
        raise RuntimeError(f"aligning KubeAI's modules failed:\n{tidy.stderr[-3000:]}")
