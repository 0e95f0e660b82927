"""Pure parts of the console: quantities, fit, pod reasons, catalog, export, managed-by."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from console.catalog import CatalogError, load_catalog
from console.diagnosis import _verdict, pod_row
from console.managed import managed_by
from console.prompt import request_body, summarize
from console.transfer import clean, merged_desired, parse_documents
from kube.fleetinfo import fit_check, format_quantity, parse_quantity, parse_system_config
from kube.patch import change_patch
from models_ui.presenters import ModelRow
from tests.consolekit import NODES, SYSTEM_YAML, unschedulable_status, waiting_status

CONFIG = parse_system_config(SYSTEM_YAML)


def node(name: str, allocatable: dict[str, str], labels: dict[str, str],
         taints: list[dict[str, str]]) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints},
            "status": {"allocatable": allocatable,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


CLUSTER = [node(*spec) for spec in NODES]


@pytest.mark.parametrize(("text", "value"), [
    ("500m", Decimal("0.5")), ("2", Decimal(2)), ("24Gi", Decimal(24 * 2**30)),
    ("1e3", Decimal(1000)), ("1.5k", Decimal(1500)), (4, Decimal(4))])
def test_it_reads_kubernetes_quantities(text: Any, value: Decimal) -> None:
    assert parse_quantity(text) == value


def test_it_refuses_bad_quantities() -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        parse_quantity("two")


def test_it_formats_amounts_for_people() -> None:
    assert format_quantity("nvidia.com/gpu", Decimal(2)) == "2 nvidia.com/gpu"
    assert format_quantity("memory", Decimal(24 * 2**30)) == "24Gi memory"
    assert format_quantity("cpu", Decimal("1.5")) == "1.5 cpu"


def test_the_fit_counts_nodes_by_selector_taints_and_allocatable() -> None:
    assert fit_check("cpu:2", CONFIG, CLUSTER).text == "fits on 2 nodes"  # GPU nodes tainted
    assert fit_check("nvidia-gpu-l4:1", CONFIG, CLUSTER).text == "fits on 2 nodes"
    two_gpus = fit_check("nvidia-gpu-h100:2", CONFIG, CLUSTER)
    assert two_gpus.text == "no node has 2 nvidia.com/gpu"
    assert (two_gpus.fitting, two_gpus.nodes, two_gpus.requirement) == (0, 4, "2 nvidia.com/gpu")
    # The L4 profile's node selector rules the CPU nodes out first; none has 2 GPUs either.
    assert fit_check("nvidia-gpu-l4:2", CONFIG, CLUSTER).text == "no node has 2 nvidia.com/gpu"
    eight_gpus = node("kmm-h100-1", {"cpu": "96", "memory": "1Ti", "nvidia.com/gpu": "8"},
                      {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb"}, [])
    assert fit_check("nvidia-gpu-l4:2", CONFIG, [*CLUSTER, eight_gpus]).text == (
        "no node fits 2 nvidia.com/gpu (3 no label "
        "cloud.google.com/gke-accelerator=nvidia-l4, 2 has 1 nvidia.com/gpu)")
    assert fit_check("cpu:9", CONFIG, CLUSTER).text == (
        "no node fits 9 cpu and 18Gi memory (2 has 8 cpu, 2 taint "
        "nvidia.com/gpu=present:NoSchedule)")


def test_the_fit_says_what_it_cannot_know() -> None:
    assert fit_check("cpu:1", CONFIG, None, nodes_problem="you may not list nodes").text == \
        "unknown: you may not list nodes"
    assert fit_check("gpu-typo:1", CONFIG, CLUSTER).text == (
        "unknown profile 'gpu-typo': KubeAI's config defines cpu, nvidia-gpu-h100, "
        "nvidia-gpu-l4")
    assert fit_check("cpu:1", None, CLUSTER).text.startswith("unknown:")


def test_the_fit_sees_room_taken_by_model_pods() -> None:
    busy = {"spec": {"nodeName": "kmm-l4-1", "containers": [
        {"resources": {"limits": {"nvidia.com/gpu": "1"}}}]}, "status": {"phase": "Running"}}
    fit = fit_check("nvidia-gpu-l4:1", CONFIG, CLUSTER, [busy])
    assert fit.text == "fits on 2 nodes (1 with room now)"


def pod(status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "p1"}, "spec": {}, "status": status}


def test_pod_reasons_come_from_statuses_conditions_and_events() -> None:
    pulled = pod_row(pod(waiting_status("ErrImagePull", "not found")), ())
    assert (pulled.problem, pulled.reason) == ("pull", "ErrImagePull: not found")
    pending = pod_row(pod(unschedulable_status("0/4 nodes are available")), ())
    assert pending.problem == "unschedulable"
    assert pending.reason == "Unschedulable: 0/4 nodes are available"
    event = {"reason": "FailedMount", "message": "volume x not found",
             "lastTimestamp": "2026-11-28T10:00:00Z"}
    mounted = pod_row(pod({"phase": "Pending"}), (event,))
    assert mounted.reason == "FailedMount: volume x not found"
    crashed = pod_row(pod(waiting_status("CrashLoopBackOff", "back-off 10s", restarts=1)), ())
    assert (crashed.problem, crashed.reason) == (
        "crash", "CrashLoopBackOff (Error, exit code 1; 1 restart)")


def model(**spec: Any) -> ModelRow:
    status = spec.pop("status", {})
    return ModelRow({"metadata": {"name": "m", "namespace": "n"}, "spec": spec,
                     "status": status})


def test_verdicts_read_as_one_sentence() -> None:
    fit = fit_check("nvidia-gpu-h100:2", CONFIG, CLUSTER)
    row = model(resourceProfile="nvidia-gpu-h100:2", replicas=1)
    stuck = pod_row(pod(unschedulable_status("no gpu")), ())
    assert _verdict(row, [stuck], fit) == (
        "warning", "Waiting for a node with 2 nvidia.com/gpu: 0 of 4 nodes fit")
    assert _verdict(model(), [], None) == ("info", "Scaled to zero: KubeAI starts it on the "
                                                   "first request.")
    ready = model(replicas=2, status={"replicas": {"all": 2, "ready": 2}})
    assert _verdict(ready, [], None) == ("ok", "Ready: 2 of 2 replicas ready.")
    assert _verdict(model(replicas=1), [], None) == ("info", "Waiting for KubeAI to create the "
                                                             "pods.")


def test_the_default_catalog_has_the_chart_values_shape() -> None:
    presets = {p.name: p for p in load_catalog()}
    assert "qwen2.5-0.5b-instruct-cpu" in presets
    model_obj = presets["qwen2.5-0.5b-instruct-cpu"].to_model("kubeai")
    assert model_obj["metadata"] == {"name": "qwen2.5-0.5b-instruct-cpu", "namespace": "kubeai"}
    assert model_obj["spec"]["resourceProfile"] == "cpu:2"
    assert "enabled" not in model_obj["spec"]


def test_kubeais_own_catalog_loads_when_present() -> None:
    upstream = Path(__file__).resolve().parents[2] / "shared" / "kubeai" / \
        "models-catalog-values.yaml"
    upstream = upstream if upstream.exists() else Path("/work/shared/kubeai/"
                                                       "models-catalog-values.yaml")
    if not upstream.exists():
        pytest.skip("KubeAI's catalog is not on this machine")
    presets = load_catalog(upstream)
    assert len(presets) > 40
    assert all(p.engine for p in presets)


def test_a_broken_catalog_is_explained(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("catalog: [1, 2]")
    with pytest.raises(CatalogError, match="has no `catalog:` map"):
        load_catalog(bad)
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(tmp_path / "missing.yaml")


def test_export_is_clean() -> None:
    obj = {"apiVersion": "kubeai.org/v1", "kind": "Model",
           "metadata": {"name": "m", "namespace": "n", "uid": "u", "resourceVersion": "7",
                        "managedFields": [{}], "creationTimestamp": "x", "generation": 2,
                        "labels": {"a": "b"}, "annotations": {
                            "kubectl.kubernetes.io/last-applied-configuration": "{}"},
                        "finalizers": ["kubeai.org/cache-eviction"]},
           "spec": {"url": "hf://o/m"}, "status": {"replicas": {"all": 1}}}
    assert clean(obj) == {"apiVersion": "kubeai.org/v1", "kind": "Model",
                          "metadata": {"name": "m", "namespace": "n", "labels": {"a": "b"}},
                          "spec": {"url": "hf://o/m"}}
    obj["metadata"]["finalizers"].append("example.com/keep")
    assert clean(obj)["metadata"]["finalizers"] == ["example.com/keep"]


def test_an_import_that_leaves_out_what_kubeai_sets_keeps_kubeais_values() -> None:
    current = {"metadata": {"name": "m", "namespace": "n", "resourceVersion": "9"},
               "spec": {"url": "hf://o/m", "minReplicas": 1, "replicas": 3, "owner": ""},
               "status": {"replicas": {"all": 3, "ready": 3}}}
    gitops = {"metadata": {"name": "m", "namespace": "n"},
              "spec": {"url": "hf://o/m", "minReplicas": 1, "maxReplicas": 4}}
    merged = merged_desired(current, gitops)
    # Without replicas KubeAI would scale the running model back to minReplicas.
    assert merged["spec"] == {"url": "hf://o/m", "minReplicas": 1, "maxReplicas": 4,
                              "replicas": 3, "owner": ""}
    assert "status" not in merged
    assert change_patch(current, merged) == {"spec": {"maxReplicas": 4}}
    pinned = merged_desired(current, {"metadata": {}, "spec": {"url": "hf://o/m",
                                                               "replicas": 1}})
    assert pinned["spec"]["replicas"] == 1  # a file that sets it wins


def test_import_parsing_names_bad_documents() -> None:
    parsed = parse_documents("a: [\n", "ns")
    assert parsed[0].action == "invalid"
    assert "line" in parsed[0].errors[0]
    parsed = parse_documents(yaml.safe_dump_all([{"kind": "Secret", "apiVersion": "v1",
                                                  "metadata": {"name": "s"}}, "text"]), "ns")
    assert [p.errors[0][:14] for p in parsed] == ["Not a kubeai.o", "Not a mapping."]


@pytest.mark.parametrize(("metadata", "expected"), [
    ({"labels": {"app.kubernetes.io/managed-by": "Helm"},
      "annotations": {"meta.helm.sh/release-name": "models"}}, "Helm release models"),
    ({"annotations": {"argocd.argoproj.io/tracking-id": "llm-apps:kubeai.org/Model:ns/m"}},
     "Argo CD (application llm-apps)"),
    ({"labels": {"app.kubernetes.io/instance": "llm-apps"},
      "annotations": {"argocd.argoproj.io/sync-options": "Prune=false"}},
     "Argo CD (application llm-apps)"),
    ({"labels": {"app.kubernetes.io/instance": "x"}}, None),
])
def test_it_recognises_helm_and_argo_cd(metadata: dict[str, Any], expected: str | None) -> None:
    assert managed_by({"metadata": metadata}) == expected


def test_prompt_requests_and_answers() -> None:
    assert request_body("TextEmbedding", "m", "hi", [])[0] == "/openai/v1/embeddings"
    path, body = request_body("Reranking", "m", "q", ["a", "b"])
    assert (path, body["documents"]) == ("/openai/v1/rerank", ["a", "b"])
    chat = '{"choices": [{"message": {"role": "assistant", "content": "Hello!"}}]}'
    assert summarize("TextGeneration", chat, False) == "Hello!"
    vectors = '{"data": [{"embedding": [0.1, 0.2, 0.3]}]}'
    # KubeAI's rerank shape, and the engines' (Infinity, vLLM).
    kubeai = ('{"data": [{"document_index": 1, "document": "two GPU nodes", '
              '"relevance_score": 0.9}, {"document_index": 0, "relevance_score": 0.1}]}')
    assert summarize("Reranking", kubeai, False) == "#1 0.9000: two GPU nodes\n#0 0.1000"
    engines = '{"results": [{"index": 0, "relevance_score": 0.25, "document": {"text": "a"}}]}'
    assert summarize("Reranking", engines, False) == "#0 0.2500: a"
    assert summarize("TextEmbedding", vectors, False) == "3 dimensions: [0.1000, 0.2000, " \
                                                         "0.3000, …]"
