"""Real objects for the console's tests on the API-server-only control plane.

Without the fleet (KubeAI, kube-scheduler, KWOK) nothing runs pods, so the tests write
what those components would: Node objects with allocatable resources, labels and taints;
KubeAI's system ConfigMap; Pods labelled model=<name> with the status the scheduler or
kubelet would set; Warning events. All through the real API server.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from kubernetes import client

import kube
from kube.watches import fleet
from tests.conftest import eventually, kubectl

CONFIG_NAMESPACE, CONFIG_NAME = "kubeai", "kubeai-config"  # KMM_KUBEAI_CONFIG's default
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                  "effect": "NoSchedule"}
# No kubelet runs these nodes: when the fleet's real kube-scheduler runs in the same
# session, this taint keeps KubeAI's pods off them; the test profiles tolerate it.
FAKE_TAINT = {"key": "kmm.test/no-kubelet", "value": "true", "effect": "NoSchedule"}
FAKE_TOLERATION = {"key": "kmm.test/no-kubelet", "operator": "Exists"}

# The profiles of the fleet's KubeAI config (devcluster/fleet.py), plus nvidia-gpu-h100.
SYSTEM_YAML = f"""
resourceProfiles:
  cpu:
    imageName: cpu
    requests: {{cpu: 1, memory: 2Gi}}
    tolerations: [{json.dumps(FAKE_TOLERATION)}]
  nvidia-gpu-l4:
    imageName: nvidia-gpu
    limits: {{nvidia.com/gpu: "1"}}
    requests: {{nvidia.com/gpu: "1", cpu: "6", memory: 24Gi}}
    nodeSelector: {{cloud.google.com/gke-accelerator: nvidia-l4}}
    tolerations: [{json.dumps(GPU_TOLERATION)}, {json.dumps(FAKE_TOLERATION)}]
  nvidia-gpu-h100:
    imageName: nvidia-gpu
    limits: {{nvidia.com/gpu: "1"}}
    tolerations: [{json.dumps(GPU_TOLERATION)}, {json.dumps(FAKE_TOLERATION)}]
cacheProfiles:
  standard-filesystem: {{sharedFilesystem: {{storageClassName: standard}}}}
"""

# Four nodes: two for CPU, two with one L4 GPU each (tainted, as GPU pools are).
NODES = [
    ("kmm-cpu-1", {"cpu": "8", "memory": "32Gi", "pods": "110"}, {}, [FAKE_TAINT]),
    ("kmm-cpu-2", {"cpu": "8", "memory": "32Gi", "pods": "110"}, {}, [FAKE_TAINT]),
    ("kmm-l4-1", {"cpu": "16", "memory": "64Gi", "pods": "110", "nvidia.com/gpu": "1"},
     {"cloud.google.com/gke-accelerator": "nvidia-l4"}, [GPU_TAINT, FAKE_TAINT]),
    ("kmm-l4-2", {"cpu": "16", "memory": "64Gi", "pods": "110", "nvidia.com/gpu": "1"},
     {"cloud.google.com/gke-accelerator": "nvidia-l4"}, [GPU_TAINT, FAKE_TAINT]),
]


def _core(admin: kube.Caller) -> client.CoreV1Api:
    return client.CoreV1Api(admin.api)


def install_cluster_objects(admin: kube.Caller) -> int:
    """Nodes and KubeAI's config (idempotent: the same for every test of the session);
    returns how many nodes the cluster has, and waits until kmm's caches see them."""
    core = _core(admin)
    existing = {n.metadata.name for n in core.list_node().items}
    for name, allocatable, labels, taints in NODES:
        if name in existing:
            continue
        core.create_node({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}},
            "spec": {"taints": taints},
            "status": {"capacity": allocatable, "allocatable": allocatable,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status"}]},
        })
        # The API server taints a new node not-ready (TaintNodesByCondition); the node
        # lifecycle controller lifts it once the kubelet reports Ready. Do what it does.
        kubectl("patch", "node", name, "--type=merge", "-p",
                json.dumps({"spec": {"taints": taints}}))
    ensure_namespace(admin, CONFIG_NAMESPACE)
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIG_NAME, "namespace": CONFIG_NAMESPACE},
            "data": {"system.yaml": SYSTEM_YAML}}
    try:
        core.create_namespaced_config_map(CONFIG_NAMESPACE, body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    total = len(core.list_node().items)
    caches = fleet()
    assert caches.wait_synced(10), [c.problem for c in caches.caches]
    assert eventually(lambda: len(caches.nodes.items()) == total
                      and caches.config_text() is not None, 10)
    return total


def ensure_namespace(admin: kube.Caller, name: str) -> None:
    kube.create_namespace(admin, name, exist_ok=True)


def service_account(admin: kube.Caller, namespace: str) -> None:
    """The namespace's default ServiceAccount (no controller makes it on this plane)."""
    try:
        _core(admin).create_namespaced_service_account(
            namespace, {"metadata": {"name": "default"}})
    except client.ApiException as exc:
        if exc.status != 409:
            raise


def model_pod(admin: kube.Caller, namespace: str, model: str, *, gpus: int = 0,
              status: dict[str, Any] | None = None, node: str | None = None) -> str:
    """A pod as KubeAI makes it (label model=<name>), with the status given."""
    service_account(admin, namespace)
    name = f"model-{model}-{uuid.uuid4().hex[:6]}".replace(".", "-")
    resources: dict[str, Any] = {"requests": {"cpu": "100m"}}
    if gpus:
        resources = {"requests": {"nvidia.com/gpu": str(gpus)},
                     "limits": {"nvidia.com/gpu": str(gpus)}}
    spec: dict[str, Any] = {"containers": [{"name": "server", "image": "vllm/vllm-openai:v0.10.2",
                                            "resources": resources}],
                            "tolerations": [GPU_TOLERATION, FAKE_TOLERATION]}
    if node:
        spec["nodeName"] = node
    _core(admin).create_namespaced_pod(namespace, {
        "metadata": {"name": name, "labels": {"model": model, "app.kubernetes.io/name": "vllm"}},
        "spec": spec})
    if status:
        kubectl("patch", "pod", name, "-n", namespace, "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": status}))
    return name


def unschedulable_status(message: str) -> dict[str, Any]:
    return {"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastTransitionTime": "2026-11-28T10:00:00Z"}]}


def running_status(ready: bool = True) -> dict[str, Any]:
    flag = "True" if ready else "False"
    return {"phase": "Running", "conditions": [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-28T10:00:00Z"},
        {"type": "Ready", "status": flag, "lastTransitionTime": "2026-11-28T10:00:00Z"}],
        "containerStatuses": [{"name": "server", "ready": ready, "restartCount": 0,
                               "image": "vllm/vllm-openai:v0.10.2", "imageID": "",
                               "state": {"running": {"startedAt": "2026-11-28T10:00:00Z"}}}]}


def waiting_status(reason: str, message: str, restarts: int = 0) -> dict[str, Any]:
    return {"phase": "Pending" if reason != "CrashLoopBackOff" else "Running", "conditions": [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-28T10:00:00Z"},
        {"type": "Ready", "status": "False", "lastTransitionTime": "2026-11-28T10:00:00Z"}],
        "containerStatuses": [{"name": "server", "ready": False, "restartCount": restarts,
                               "image": "vllm/vllm-openai:v0.10.2", "imageID": "",
                               "state": {"waiting": {"reason": reason, "message": message}},
                               "lastState": {"terminated": {"reason": "Error", "exitCode": 1,
                                                            "startedAt": "2026-11-28T10:00:00Z",
                                                            "finishedAt": "2026-11-28T10:00:05Z"}}
                               if restarts else {}}]}


def warning_event(admin: kube.Caller, namespace: str, pod: str, reason: str,
                  message: str) -> None:
    _core(admin).create_namespaced_event(namespace, {
        "metadata": {"generateName": f"{pod}.", "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod,
                           "namespace": namespace},
        "reason": reason, "message": message, "type": "Warning", "count": 3,
        "firstTimestamp": "2026-11-28T10:00:00Z", "lastTimestamp": "2026-11-28T10:01:00Z",
        "source": {"component": "default-scheduler"}})


def caught_up(admin: kube.Caller, namespace: str) -> None:
    """Wait until kmm's pod and event caches show the namespace as the API server has it."""
    core = _core(admin)
    pods = {(p.metadata.name, p.metadata.resource_version)
            for p in core.list_namespaced_pod(namespace, label_selector="model").items}
    events = {e.metadata.name for e in core.list_namespaced_event(
        namespace, field_selector="type=Warning").items}
    caches = fleet()

    def seen() -> bool:
        cached_pods = {(p["metadata"]["name"], p["metadata"]["resourceVersion"])
                       for p in caches.pods.items() if p["metadata"]["namespace"] == namespace}
        cached_events = {e["metadata"]["name"] for e in caches.events["Pod"].items()
                         if e["metadata"]["namespace"] == namespace}
        return cached_pods == pods and events <= cached_events

    assert eventually(seen, 5), f"kmm's caches never caught up on {namespace}"
