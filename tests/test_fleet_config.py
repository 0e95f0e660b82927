"""The fleet's configuration and its readiness rules (pure: no cluster)."""

from __future__ import annotations

from typing import Any

from devcluster import fleet
from kube.workloads import cache_pvc_name, is_model_pod_name


def test_kubeai_gets_profiles_a_cache_profile_and_loopback_addresses() -> None:
    config = fleet.kubeai_system_config(metrics_port=9001, health_port=9002)
    assert {"cpu", "nvidia-gpu-l4"} <= set(config["resourceProfiles"])
    gpu = config["resourceProfiles"]["nvidia-gpu-l4"]
    assert gpu["limits"] == {"nvidia.com/gpu": "1"}
    assert gpu["tolerations"] == [fleet.GPU_TOLERATION]
    assert config["cacheProfiles"][fleet.CACHE_PROFILE]["sharedFilesystem"][
        "storageClassName"] == fleet.STORAGE_CLASS
    assert config["metricsAddr"] == "127.0.0.1:9001"
    assert config["fixedSelfMetricAddrs"] == ["127.0.0.1:9001"]
    assert config["healthAddress"] == "127.0.0.1:9002"
    assert config["allowPodAddressOverride"] is True
    assert config["modelAutoscaling"]["stateConfigMapName"] == "kubeai-autoscaler-state"
    for engine in ("VLLM", "OLlama", "FasterWhisper", "Infinity"):
        assert config["modelServers"][engine]["images"]["default"]


def test_kwok_parallelism_is_set_explicitly() -> None:
    options = fleet._kwok_configuration()["options"]
    for key in ("podPlayStageParallelism", "nodePlayStageParallelism", "nodeLeaseParallelism",
                "podsOnNodeSyncParallelism"):
        assert options[key] > 0


def test_gpu_nodes_carry_the_gpu_the_label_and_the_taint() -> None:
    gpu = fleet._node({"name": "g", "gpus": 1, "cpu": "16", "memory": "64Gi"})
    cpu = fleet._node({"name": "c", "gpus": 0, "cpu": "8", "memory": "32Gi"})
    assert gpu["status"]["capacity"]["nvidia.com/gpu"] == "1"
    assert gpu["metadata"]["labels"][fleet.GPU_LABEL[0]] == fleet.GPU_LABEL[1]
    assert gpu["spec"]["taints"] == [fleet.GPU_TAINT]
    assert "nvidia.com/gpu" not in cpu["status"]["capacity"]
    assert "taints" not in cpu["spec"]
    assert sum(1 for n in fleet.NODES if n["gpus"]) >= 2
    assert sum(1 for n in fleet.NODES if not n["gpus"]) >= 2


def pod(ready: bool = False, unschedulable: bool = False) -> dict[str, Any]:
    conditions = []
    if ready:
        conditions.append({"type": "Ready", "status": "True"})
    if unschedulable:
        conditions.append({"type": "PodScheduled", "status": "False", "reason": "Unschedulable"})
    return {"metadata": {}, "status": {"conditions": conditions}}


def test_a_model_is_reconciled_when_its_pods_match_and_settle() -> None:
    model = {"metadata": {"name": "m"}, "spec": {"minReplicas": 1}}
    assert not fleet.reconciled(model, [])
    assert not fleet.reconciled(model, [pod()])
    assert fleet.reconciled(model, [pod(ready=True)])
    assert fleet.reconciled(model, [pod(unschedulable=True)])
    cached = {"metadata": {"name": "c"}, "spec": {"replicas": 0, "cacheProfile": "p"},
              "status": {"cache": {"loaded": False}}}
    assert not fleet.reconciled(cached, [])
    cached["status"]["cache"]["loaded"] = True
    assert fleet.reconciled(cached, [])


def test_kubeai_object_names() -> None:
    assert is_model_pod_name("llama", "model-llama-5d8f7c9b-x2k4q")
    assert not is_model_pod_name("llama", "model-llama-3-5d8f7c9b-x2k4q")  # model llama-3
    assert cache_pvc_name({"spec": {"cacheProfile": "fast"}}) == "shared-model-cache-fast"
    assert cache_pvc_name({"spec": {}}) is None
