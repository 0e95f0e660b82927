"""A real kube-apiserver with etcd on loopback, for `make run`, `make cluster` and the tests.

Three ways to get one, in this order:
- `KMM_TEST_KUBECONFIG`: an existing cluster; nothing is started (the CRD is applied).
- `KUBEBUILDER_ASSETS`: a folder holding `kube-apiserver` and `etcd` binaries, as
  controller-runtime's setup-envtest provides.
- otherwise the Go module in devcluster/apiserver is built once (cached under
  ~/.cache/kmm, keyed by its sources) and runs kube-apiserver with embedded etcd.
"""

from __future__ import annotations

import base64
import ctypes
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devcluster.pki import Pki, write_pki

GO_MODULE = Path(__file__).resolve().parent / "apiserver"
CACHE_DIR = Path(os.environ.get("KMM_CACHE_DIR") or Path.home() / ".cache" / "kmm")
READY_TIMEOUT_SECONDS = 90.0
STOP_GRACE_SECONDS = 5.0


def log(message: str) -> None:
    print(f"devcluster: {message}", file=sys.stderr, flush=True)


# --- building -------------------------------------------------------------------------

def module_version(module: str) -> str:
    """The version of `module` that devcluster/apiserver/go.mod requires (the one place
    the fleet's Kubernetes and KWOK versions are written)."""
    match = re.search(rf"^\s*{re.escape(module)} (v\S+)", (GO_MODULE / "go.mod").read_text(),
                      re.MULTILINE)
    if match is None:
        raise RuntimeError(f"{GO_MODULE / 'go.mod'} does not require {module}")
    return match.group(1)


KUBERNETES_VERSION = module_version("k8s.io/kubernetes")
# The binaries of the one `go build` of devcluster/apiserver: the multi-call control plane,
# and kubectl and KWOK on the same compiled packages (binaries of their own: a long-running
# KWOK alone carries less in memory than the multi-call binary would).
BINARIES = ("apiserver", "kubectl", "kwok")
# Compiler flags of every fleet build: equal flags let KubeAI's build reuse the packages the
# multi-call binary compiled. No DWARF: the binaries are stripped (-s -w) anyway, so
# generating it would only cost build time.
GO_BUILD_FLAGS = ("-trimpath", "-gcflags=all=-dwarf=false")


def build_key() -> str:
    digest = hashlib.sha256(repr((KUBERNETES_VERSION, GO_BUILD_FLAGS)).encode())
    for path in sorted(GO_MODULE.rglob("*")):
        if path.suffix == ".go" or path.name in ("go.mod", "go.sum"):
            digest.update(str(path.relative_to(GO_MODULE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_binaries() -> Path:
    """The folder holding `apiserver`, `kubectl` and `kwok`, building them on first use."""
    target = CACHE_DIR / f"devcluster-{KUBERNETES_VERSION}-{build_key()}"
    if all((target / name).exists() for name in BINARIES):
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, across processes
        if all((target / name).exists() for name in BINARIES):
            return target
        _go_build(target)
    return target


def _go_build(target: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is needed to build the local control plane (or set "
                           "KUBEBUILDER_ASSETS / KMM_TEST_KUBECONFIG).")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    minor = KUBERNETES_VERSION.split(".")[1]
    ldflags = " ".join([
        "-s -w",
        f"-X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}",
        "-X k8s.io/component-base/version.gitMajor=1",
        f"-X k8s.io/component-base/version.gitMinor={minor}",
        "-X k8s.io/component-base/version.gitTreeState=clean",
    ])
    command = [go, "build", "-v", *GO_BUILD_FLAGS, "-ldflags", ldflags, "-o", f"{staging}/",
               ".", "./kubectl", "./kwok"]
    log(f"building the multi-call kube-apiserver (embedded etcd), kube-scheduler, "
        f"kube-controller-manager and kubectl {KUBERNETES_VERSION} with kwok "
        f"{module_version('sigs.k8s.io/kwok')} (first run only; about 8 minutes on 2 cores) "
        f"into {target}")
    run_go_build(command, GO_MODULE, "kube-apiserver/scheduler/controller-manager/kubectl/kwok")
    staging.rename(target)


def run_go_build(command: list[str], module: Path, what: str,
                 env: dict[str, str] | None = None) -> None:
    """Run `go build -v`, showing progress every 100 compiled packages; fail with its tail."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=module, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    compiled, tail = 0, []
    for line in process.stderr:
        compiled += 1
        tail = ([*tail, line.rstrip()])[-30:]
        if compiled % 100 == 0:
            log(f"  {what}: compiled {compiled} packages ({time.monotonic() - started:.0f}s)")
    if process.wait() != 0:
        raise RuntimeError(f"go build of {what} failed:\n" + "\n".join(tail))
    log(f"{what} build finished in {time.monotonic() - started:.0f}s")


# --- running --------------------------------------------------------------------------

def stop_process(process: subprocess.Popen[Any], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM, up to `grace` seconds for a clean exit, then SIGKILL; always reaped."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM if this process dies, so nothing is orphaned.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class ControlPlane:
    """A started control plane. Use as a context manager, or call stop()."""

    kubeconfig: Path
    server: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    version: str = ""
    workdir: Path | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)
    pki: Pki | None = None
    started_in: float = 0.0
    fleet: Any = None  # devcluster.fleet.Fleet when the simulated fleet runs
    fleet_names: dict[int, str] = field(default_factory=dict)  # pid -> fleet component

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def external(self) -> bool:
        return not self.processes

    def stop(self) -> None:
        self.halt()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def halt(self) -> None:
        """Stop the processes but keep their data, so resume() brings the same cluster back."""
        for process in reversed(self.processes):  # the fleet first, the API server last
            if process.poll() is None:
                if process.stdin:
                    process.stdin.close()  # kmm-apiserver shuts down when stdin closes
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                # A throwaway cluster: a short grace period, then SIGKILL (open watches can
                # keep kube-apiserver's graceful shutdown waiting for a long time).
                process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        self.fleet_names.clear()

    def check_alive(self) -> None:
        """Raise with the log tail when any process of the plane has exited."""
        for process in self.processes:
            if process.poll() is not None:
                name = self.fleet_names.get(process.pid, "kube-apiserver")
                raise RuntimeError(f"{name} exited with {process.returncode}:\n"
                                   + self.log_tail(name=name if name in self.fleet_names.values()
                                                   else "apiserver"))

    def resume(self) -> None:
        """Start the processes again on the same ports and data, and wait until ready."""
        assert self.workdir is not None
        assert self.pki is not None
        self.processes = [_launch(command, self.workdir) for command in self.commands]
        _wait_ready(self, self.pki)

    def log_tail(self, lines: int = 40, name: str = "apiserver") -> str:
        if self.workdir is None:
            return ""
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start(kubeconfig: Path | None = None, seed: bool = False,
          fleet: bool = False) -> ControlPlane:
    """Start (or attach to) a control plane, install the CRD, optionally seed samples.

    fleet: also start the simulated fleet with KubeAI (devcluster/fleet.py); seeding then
    waits until KubeAI has reconciled the sample models.
    """
    started = time.monotonic()
    existing = os.environ.get("KMM_TEST_KUBECONFIG")
    if existing:
        plane = ControlPlane(kubeconfig=Path(existing))
        log(f"using the existing cluster in {existing}")
    else:
        plane = _start_processes(kubeconfig)
    try:
        _install_crd(plane)
        if fleet:
            from devcluster import fleet as fleet_module

            reason = fleet_module.unavailable_reason()
            if reason:
                log(f"no fleet: {reason}")
            else:
                plane.fleet = fleet_module.start(plane)
                log(f"fleet ready: {len(fleet_module.NODES)} KWOK nodes, kube-scheduler, "
                    f"kube-controller-manager, KubeAI at {plane.fleet.openai_url}")
        if seed:
            from devcluster.samples import seed_samples

            count = seed_samples(plane.kubeconfig, plane.fleet)
            log(f"seeded {count} sample models")
            if plane.fleet is not None:
                from devcluster import fleet as fleet_module
                from devcluster.samples import fleet_sample_names

                fleet_module.wait_models_reconciled(plane, fleet_sample_names())
                log(f"KubeAI reconciled the sample models in {fleet_module.NAMESPACE}")
    except BaseException:
        plane.stop()
        raise
    plane.started_in = time.monotonic() - started
    return plane


def _start_processes(kubeconfig: Path | None) -> ControlPlane:
    workdir = Path(tempfile.mkdtemp(prefix="kmm-devcluster-"))
    plane = ControlPlane(kubeconfig=kubeconfig or workdir / "kubeconfig", workdir=workdir)
    try:
        plane.pki = pki = write_pki(workdir)
        plane.tokens = pki.tokens
        port = free_port()
        etcd_client, etcd_peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
        args = _apiserver_args(pki, port, workdir)
        assets = os.environ.get("KUBEBUILDER_ASSETS")
        if assets:
            plane.commands = [
                [str(Path(assets) / "etcd"), f"--data-dir={workdir / 'etcd'}",
                 f"--listen-client-urls={etcd_client}", f"--advertise-client-urls={etcd_client}",
                 f"--listen-peer-urls={etcd_peer}", f"--initial-advertise-peer-urls={etcd_peer}",
                 f"--initial-cluster=default={etcd_peer}", "--unsafe-no-fsync"],
                [str(Path(assets) / "kube-apiserver"), *args, f"--etcd-servers={etcd_client}"],
            ]
        else:
            binary = build_binaries() / "apiserver"
            plane.commands = [[str(binary), f"--etcd-dir={workdir / 'etcd'}",
                               f"--etcd-client-url={etcd_client}", f"--etcd-peer-url={etcd_peer}",
                               f"--etcd-log={workdir / 'etcd.log'}", "--exit-with-stdin", "--",
                               *args]]
        plane.processes = [_launch(command, workdir) for command in plane.commands]
        plane.server = f"https://127.0.0.1:{port}"
        _wait_ready(plane, pki)
        _write_kubeconfig(plane.kubeconfig, plane.server, pki)
        plane.version = _server_version(plane, pki)
        log(f"kube-apiserver {plane.version} ready at {plane.server}")
    except BaseException:
        plane.stop()
        raise
    return plane


def _launch(command: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    with open(workdir / "apiserver.log", "ab") as log_file:
        if command[0].endswith("/apiserver"):
            # Our binary exits when its stdin closes, i.e. when this process dies.
            return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log_file,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)


def _apiserver_args(pki: Pki, port: int, workdir: Path) -> list[str]:
    return [
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={workdir / 'certs'}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        f"--token-auth-file={pki.token_file}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.service_account_pub}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        "--service-cluster-ip-range=10.96.0.0/24",
        "--enable-priority-and-fairness=false",
        "--profiling=false",
        "--v=0",
    ]


def _request(plane: ControlPlane, pki: Pki, path: str) -> Any:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    request = urllib.request.Request(plane.server + path,
                                     headers={"Authorization": f"Bearer {pki.tokens['admin']}"})
    with urllib.request.urlopen(request, context=context, timeout=5) as response:
        return response.read()


def _wait_ready(plane: ControlPlane, pki: Pki) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        plane.check_alive()
        try:
            if _request(plane, pki, "/readyz") == b"ok":
                return
        except (urllib.error.URLError, OSError, ssl.SSLError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"kube-apiserver not ready after {READY_TIMEOUT_SECONDS:.0f}s:\n"
                               + plane.log_tail())
        time.sleep(0.1)


def _server_version(plane: ControlPlane, pki: Pki) -> str:
    return str(json.loads(_request(plane, pki, "/version"))["gitVersion"])


def _write_kubeconfig(path: Path, server: str, pki: Pki) -> None:
    ca_data = base64.b64encode(pki.ca_cert.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kmm-devcluster",
                      "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": [{"name": user, "user": {"token": token}} for user, token in pki.tokens.items()],
        "contexts": [{"name": f"kmm-{user}", "context": {"cluster": "kmm-devcluster",
                                                         "user": user}}
                     for user in pki.tokens],
        "current-context": "kmm-admin",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def _install_crd(plane: ControlPlane) -> None:
    from kube import Cluster
    from kube.crds import apply_crd, wait_established, wait_watchable
    from modelspec.crd import crd_manifest
    from modelspec.schema import GROUP, PLURAL, VERSION

    cluster = Cluster.from_kubeconfig(plane.kubeconfig)
    try:
        manifest = crd_manifest()
        apply_crd(cluster.as_app(), manifest)
        wait_established(cluster.as_app(), manifest["metadata"]["name"])
        wait_watchable(cluster.as_app(), GROUP, VERSION, PLURAL)
        if not plane.version:
            from kube.namespaces import server_version

            plane.version = server_version(cluster.as_app())
    finally:
        cluster.close()
