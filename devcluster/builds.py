"""The fleet's other binaries: KWOK and KubeAI's controller, built once and cached.

kube-apiserver, kube-scheduler and kube-controller-manager are one multi-call binary of the
Go module in devcluster/apiserver (controlplane.build_binaries). KWOK and KubeAI have module
graphs of their own (KWOK v0.8.0 wants k8s.io v0.36, KubeAI v0.22.1 k8s.io v0.34 with
controller-runtime), so each builds in its own module; the shared Go build cache reuses every
package the graphs have in common at the same version.
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

from devcluster.controlplane import CACHE_DIR, log, run_go_build

KWOK_VERSION = "v0.8.0"
KUBEAI_MODULE = "github.com/kubeai-project/kubeai"
KUBEAI_VERSION = "v0.22.1"
ROOT = Path(__file__).resolve().parent.parent

# KubeAI hard-codes its OpenAI API address; a second fleet (tests beside `make run`) needs
# another one. The cached copy reads it from KUBEAI_API_ADDR (default unchanged: ":8000").
_API_ADDR_ORIGINAL = 'Addr:        ":8000",'
_API_ADDR_PATCHED = 'Addr:        kmmAPIAddr(),'
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
    saved = CACHE_DIR / f"kwok-{KWOK_VERSION}" / "stages.yaml"
    if saved.exists():
        return saved.read_text()
    result = subprocess.run([_go(), "mod", "download", "-json", f"sigs.k8s.io/kwok@{KWOK_VERSION}"],
                            capture_output=True, text=True, cwd=CACHE_DIR, check=False)
    info = json.loads(result.stdout or "{}")
    if result.returncode != 0 or "Dir" not in info:
        raise RuntimeError(f"kwok {KWOK_VERSION} stages: {info.get('Error', result.stderr)}")
    text = "\n---\n".join((Path(info["Dir"]) / name).read_text().strip() for name in KWOK_STAGES)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(text + "\n")
    return text


def kwok_binary() -> Path:
    """KWOK from the Go module proxy (`go install sigs.k8s.io/kwok/cmd/kwok@v0.8.0`)."""
    def build(staging: Path) -> None:
        log(f"building kwok {KWOK_VERSION} from the Go module proxy (first run only)")
        env = dict(os.environ, GOBIN=str(staging), GOFLAGS="-mod=mod")
        run_go_build([_go(), "install", "-v", "-trimpath", "-ldflags=-s -w",
                      f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}"], staging, "kwok", env=env)

    return _locked_build(CACHE_DIR / f"kwok-{KWOK_VERSION}", "kwok", build)


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
    digest = hashlib.sha256(_API_ADDR_FUNC.encode())
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
        run_go = copy / "internal" / "manager" / "run.go"
        text = run_go.read_text()
        if _API_ADDR_ORIGINAL not in text:
            raise RuntimeError(f"{run_go}: KubeAI's API address line changed; update the patch")
        run_go.write_text(text.replace(_API_ADDR_ORIGINAL, _API_ADDR_PATCHED) + _API_ADDR_FUNC)
        log(f"building KubeAI's controller from {source} (first run only; about 4 minutes "
            f"on 2 cores)")
        env = dict(os.environ, GOFLAGS="-mod=mod")
        run_go_build([_go(), "build", "-v", "-trimpath", "-ldflags=-s -w",
                      "-o", str(staging / "kubeai"), "./cmd"], copy, "KubeAI", env=env)

    return _locked_build(CACHE_DIR / f"kubeai-{KUBEAI_VERSION}-{key}", "kubeai", build)
