"""The simulated fleet beside the API server: kube-scheduler, kube-controller-manager, KWOK
nodes (CPU and GPU), a static cache volume, KubeAI's real controller, and a stand-in model
server on loopback that KubeAI's proxy forwards to.

Nothing here imitates KubeAI or Kubernetes: the scheduler decides where pods go, the
controller-manager runs Jobs, PV binding and garbage collection, KWOK plays the kubelets,
and KubeAI reconciles Models, autoscales and proxies /openai/v1. Only the model server
behind the pods is a stand-in (devcluster/standin.py).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from devcluster.controlplane import build_binaries, free_port

if TYPE_CHECKING:
    from devcluster.controlplane import ControlPlane

NAMESPACE = "kubeai"  # KubeAI watches only POD_NAMESPACE
STORAGE_CLASS = "kmm-local"
CACHE_PROFILE = "standard-filestore"
READY_TIMEOUT_SECONDS = 90.0
KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
GPU_LABEL = ("cloud.google.com/gke-accelerator", "nvidia-l4")
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                  "effect": "NoSchedule"}

# Two CPU nodes and two one-GPU nodes, sized so the sample profiles fit (or, for two GPUs
# per replica, cannot fit) for the scheduler's own reasons.
NODES: list[dict[str, Any]] = [
    {"name": "kwok-cpu-1", "gpus": 0, "cpu": "8", "memory": "32Gi"},
    {"name": "kwok-cpu-2", "gpus": 0, "cpu": "8", "memory": "32Gi"},
    {"name": "kwok-gpu-l4-1", "gpus": 1, "cpu": "16", "memory": "64Gi"},
    {"name": "kwok-gpu-l4-2", "gpus": 1, "cpu": "16", "memory": "64Gi"},
]


def enabled() -> bool:
    """The fleet runs unless KMM_FLEET is off (then it is the API-server-only plane)."""
    return os.environ.get("KMM_FLEET", "on").strip().lower() not in ("off", "0", "false", "no")


@dataclass
class Fleet:
    """Addresses of a running fleet."""

    openai_url: str  # KubeAI's OpenAI-compatible proxy, e.g. http://127.0.0.1:PORT/openai/v1
    standin_port: int
    health_url: str
    namespace: str = NAMESPACE

    def pod_address_annotations(self) -> dict[str, str]:
        """Model annotations that point KubeAI's proxy at the stand-in model server."""
        return {"model-pod-ip": "127.0.0.1", "model-pod-port": str(self.standin_port)}


def unavailable_reason() -> str | None:
    """Why the fleet cannot run with this configuration, or None."""
    if os.environ.get("KMM_TEST_KUBECONFIG"):
        return ("KMM_TEST_KUBECONFIG names an existing cluster: kmm starts no fleet there "
                "(install KubeAI in that cluster yourself)")
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets and not all((Path(assets) / name).exists()
                          for name in ("kube-scheduler", "kube-controller-manager")):
        return (f"KUBEBUILDER_ASSETS ({assets}) has no kube-scheduler and "
                f"kube-controller-manager; the fleet needs both")
    return None


def build() -> dict[str, Path]:
    """Every fleet binary, building what is missing (printed progress)."""
    from devcluster import builds

    # The multi-call binary first: KubeAI's build then finds the packages they share compiled.
    multicall = build_binaries()
    paths = {"kwok": multicall / "kwok", "kubeai": builds.kubeai_binary()}
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        paths["kube-scheduler"] = Path(assets) / "kube-scheduler"
        paths["kube-controller-manager"] = Path(assets) / "kube-controller-manager"
    else:
        paths["multicall"] = multicall / "apiserver"
    return paths


def start(plane: ControlPlane) -> Fleet:
    """Start the fleet beside a running plane; its processes join plane.processes."""
    assert plane.workdir is not None
    assert plane.pki is not None
    binaries = build()
    workdir, kubeconfig = plane.workdir, str(plane.kubeconfig)

    def component(name: str) -> list[str]:
        if "multicall" in binaries:
            return [str(binaries["multicall"]), name, "--exit-with-stdin", "--"]
        return [str(binaries[f"kube-{name}"])]

    common = [f"--kubeconfig={kubeconfig}", "--leader-elect=false", "--secure-port=0", "--v=0"]
    _spawn(plane, "scheduler", [*component("scheduler"), *common])
    _spawn(plane, "controller-manager", [
        *component("controller-manager"), *common,
        f"--root-ca-file={plane.pki.ca_cert}",
        f"--service-account-private-key-file={plane.pki.service_account_key}",
        "--use-service-account-credentials=false",
        # Quick enough for a development fleet; upstream defaults suit big clusters.
        "--node-monitor-period=2s",
        "--concurrent-job-syncs=5",
    ])
    _prepare_cluster(plane)

    kwok_config = workdir / "kwok.yaml"
    from devcluster.builds import kwok_stages
    from devcluster.stages import fault_stages

    kwok_config.write_text(yaml.safe_dump(_kwok_configuration(), sort_keys=False)
                           + "---\n" + kwok_stages() + "\n---\n" + fault_stages())
    _spawn(plane, "kwok", [str(binaries["kwok"]), f"--kubeconfig={kubeconfig}",
                           f"--config={kwok_config}",
                           f"--server-address=127.0.0.1:{free_port()}"])

    standin_port = free_port()
    _spawn(plane, "standin", [sys.executable, "-m", "devcluster.standin",
                              "--port", str(standin_port)])

    api_port, metrics_port, health_port = free_port(), free_port(), free_port()
    system = workdir / "kubeai-system.yaml"
    system.write_text(yaml.safe_dump(kubeai_system_config(metrics_port, health_port),
                                     sort_keys=False))
    _spawn(plane, "kubeai", [str(binaries["kubeai"])], env={
        "CONFIG_PATH": str(system), "POD_NAMESPACE": NAMESPACE, "KUBECONFIG": kubeconfig,
        "KUBEAI_API_ADDR": f"127.0.0.1:{api_port}",
    })
    fleet = Fleet(openai_url=f"http://127.0.0.1:{api_port}/openai/v1", standin_port=standin_port,
                  health_url=f"http://127.0.0.1:{health_port}/readyz")
    _wait_fleet_ready(plane, fleet)
    return fleet


def _spawn(plane: ControlPlane, name: str, command: list[str],
           env: dict[str, str] | None = None) -> None:
    from devcluster.controlplane import _die_with_parent

    assert plane.workdir is not None
    with open(plane.workdir / f"{name}.log", "ab") as log_file:
        if "--exit-with-stdin" in command:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log_file,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        else:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file,
                                       stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                                       env={**os.environ, **(env or {})})
    plane.processes.append(process)
    plane.fleet_names[process.pid] = name


def _kwok_configuration() -> dict[str, Any]:
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "options": {
            "manageNodesWithAnnotationSelector": "=".join(KWOK_ANNOTATION),
            "cidr": "10.244.0.0/16",
            "nodeIP": "127.0.0.1",
            # KWOK v0.8.0 refuses to start while any of these is 0 (their unset value).
            "podPlayStageParallelism": 4,
            "nodePlayStageParallelism": 2,
            "nodeLeaseDurationSeconds": 40,
            "nodeLeaseParallelism": 2,
            "podsOnNodeSyncParallelism": 2,
        },
    }


def kubeai_system_config(metrics_port: int, health_port: int) -> dict[str, Any]:
    """KubeAI's system config (what its chart renders from kubeai-values.yaml)."""
    gpu_profile = {
        "imageName": "nvidia-gpu",
        "limits": {"nvidia.com/gpu": "1"},
        "requests": {"nvidia.com/gpu": "1", "cpu": "6", "memory": "24Gi"},
        "nodeSelector": dict([GPU_LABEL]),
        "tolerations": [GPU_TOLERATION],
    }
    return {
        "secretNames": {"alibaba": "kubeai-alibaba", "aws": "kubeai-aws", "gcp": "kubeai-gcp",
                        "huggingface": "kubeai-huggingface"},
        "modelServers": {
            "VLLM": {"images": {"default": "vllm/vllm-openai:v0.10.2",
                                "nvidia-gpu": "vllm/vllm-openai:v0.10.2",
                                "cpu": "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.10.2"}},
            "OLlama": {"images": {"default": "ollama/ollama:0.11.11",
                                  "nvidia-gpu": "ollama/ollama:0.11.11"}},
            "FasterWhisper": {"images": {"default": "fedirz/faster-whisper-server:latest-cpu",
                                         "nvidia-gpu": "fedirz/faster-whisper-server:latest-cuda"}},
            "Infinity": {"images": {"default": "michaelf34/infinity:0.0.77",
                                    "cpu": "michaelf34/infinity:0.0.77-cpu",
                                    "nvidia-gpu": "michaelf34/infinity:0.0.77"}},
        },
        "modelLoading": {"image": "ghcr.io/kubeai-project/kubeai-model-loader:v0.14.0"},
        "modelServerPods": {"serviceAccountName": "kubeai-models"},
        "modelRollouts": {"surge": 1},
        "resourceProfiles": {
            "cpu": {"imageName": "cpu", "requests": {"cpu": "1", "memory": "2Gi"}},
            "nvidia-gpu-l4": gpu_profile,
        },
        "cacheProfiles": {CACHE_PROFILE: {"sharedFilesystem": {"storageClassName": STORAGE_CLASS}}},
        "modelAutoscaling": {"interval": "2s", "timeWindow": "20s",
                             "stateConfigMapName": "kubeai-autoscaler-state"},
        "messaging": {"errorMaxBackoff": "30s", "streams": []},
        "metricsAddr": f"127.0.0.1:{metrics_port}",
        "healthAddress": f"127.0.0.1:{health_port}",
        "allowPodAddressOverride": True,
        "fixedSelfMetricAddrs": [f"127.0.0.1:{metrics_port}"],
    }


def _node(spec: dict[str, Any]) -> dict[str, Any]:
    capacity = {"cpu": spec["cpu"], "memory": spec["memory"], "pods": "110",
                "ephemeral-storage": "100Gi"}
    labels = {"kubernetes.io/hostname": spec["name"], "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "type": "kwok"}
    node: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": spec["name"], "labels": labels,
                     "annotations": {KWOK_ANNOTATION[0]: KWOK_ANNOTATION[1],
                                     "node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {},
        "status": {"capacity": capacity, "allocatable": dict(capacity)},
    }
    if spec["gpus"]:
        labels[GPU_LABEL[0]] = GPU_LABEL[1]
        node["spec"]["taints"] = [GPU_TAINT]
        for resources in (node["status"]["capacity"], node["status"]["allocatable"]):
            resources["nvidia.com/gpu"] = str(spec["gpus"])
    return node


def _prepare_cluster(plane: ControlPlane) -> None:
    """Nodes, the cache volume and what KubeAI's chart would create in its namespace."""
    import kube

    assert plane.workdir is not None
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig)
    try:
        caller = cluster.as_app()
        kube.create_namespace(caller, NAMESPACE, exist_ok=True)
        kube.create_objects(caller, [
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": "kubeai-models", "namespace": NAMESPACE}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "kubeai-autoscaler-state", "namespace": NAMESPACE}},
            {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
             "metadata": {"name": STORAGE_CLASS},
             "provisioner": "kubernetes.io/no-provisioner",
             "volumeBindingMode": "Immediate", "reclaimPolicy": "Retain"},
            # KubeAI shares one PVC per shared-filesystem cache profile.
            {"apiVersion": "v1", "kind": "PersistentVolume",
             "metadata": {"name": "kmm-model-cache"},
             "spec": {"capacity": {"storage": "100Gi"},
                      "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                      "storageClassName": STORAGE_CLASS,
                      "persistentVolumeReclaimPolicy": "Retain",
                      "hostPath": {"path": str(plane.workdir / "model-cache")}}},
            *[_node(spec) for spec in NODES],
        ])
    finally:
        cluster.close()


def _wait_fleet_ready(plane: ControlPlane, fleet: Fleet) -> None:
    """Nodes Ready without the not-ready taint, and KubeAI's controller answering."""
    import kube

    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig)
    try:
        while True:
            plane.check_alive()
            nodes = kube.list_nodes(cluster.as_app(), label_selector="type=kwok")
            ready = [n for n in nodes if node_schedulable(n)]
            if len(ready) == len(NODES) and _answers(fleet.health_url):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"fleet not ready after {READY_TIMEOUT_SECONDS:.0f}s: "
                                   f"{len(ready)}/{len(NODES)} nodes schedulable, KubeAI "
                                   f"{'up' if _answers(fleet.health_url) else 'down'}\n"
                                   + plane.log_tail(name="kubeai"))
            time.sleep(0.2)
    finally:
        cluster.close()


def node_schedulable(node: dict[str, Any]) -> bool:
    conditions = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions") or []}
    taints = {t["key"] for t in node.get("spec", {}).get("taints") or []}
    return conditions.get("Ready") == "True" and not any(
        key.startswith("node.kubernetes.io/") for key in taints)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_models_reconciled(plane: ControlPlane, names: list[str],
                           timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Until KubeAI has acted on each named Model in its namespace: the replicas it wants
    exist and are Ready or reported unschedulable, and a cached model's cache is loaded."""
    import kube

    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig)
    caller = cluster.as_app()
    deadline = time.monotonic() + timeout
    try:
        while True:
            plane.check_alive()
            waiting = [name for name in names if not reconciled(
                kube.get_model(caller, NAMESPACE, name),
                kube.list_model_pods(caller, NAMESPACE, name))]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"KubeAI did not reconcile {', '.join(waiting)} within "
                                   f"{timeout:.0f}s\n" + plane.log_tail(name="kubeai"))
            time.sleep(0.2)
    finally:
        cluster.close()


def reconciled(model: dict[str, Any], pods: list[dict[str, Any]]) -> bool:
    """KubeAI's pods match what the model asks for, each Ready or unschedulable."""
    spec, status = model.get("spec", {}), model.get("status") or {}
    wanted = spec.get("replicas")
    if wanted is None:
        wanted = spec.get("minReplicas", 0)
    if spec.get("cacheProfile") and not (status.get("cache") or {}).get("loaded"):
        return False
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    return len(live) == wanted and all(pod_ready(p) or pod_unschedulable(p) for p in live)


def _conditions(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list((pod.get("status") or {}).get("conditions") or [])


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in _conditions(pod))


def pod_unschedulable(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
               for c in _conditions(pod))


def openai_get(fleet: Fleet, path: str) -> Any:
    with urllib.request.urlopen(fleet.openai_url + path, timeout=10) as response:
        return json.loads(response.read())


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
