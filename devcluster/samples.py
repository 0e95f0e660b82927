"""Sample Models for `make run` and `make cluster --seed`: every engine and every feature."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

SAMPLE_NAMESPACES = ("kubeai", "research")

SAMPLES: list[dict[str, Any]] = [
    {
        "metadata": {"name": "llama-3.1-8b-instruct-l4", "namespace": "kubeai",
                     "labels": {"team": "platform"},
                     "annotations": {
                         "openrouter.kmm.io/publish": "true",
                         "openrouter.kmm.io/display-name": "Llama 3.1 8B Instruct",
                         "openrouter.kmm.io/context-length": "8192",
                         "openrouter.kmm.io/quantization": "bf16",
                         "openrouter.kmm.io/pricing-prompt": "0.00000002",
                         "openrouter.kmm.io/pricing-completion": "0.00000005",
                         "openrouter.kmm.io/sampling-parameters": "temperature,top_p,stop,seed",
                         "openrouter.kmm.io/features": "tools,json_mode",
                         "openrouter.kmm.io/slug": "meta-llama/llama-3.1-8b-instruct",
                         "openrouter.kmm.io/datacenters": "DE"}},
        "spec": {
            "url": "hf://meta-llama/Llama-3.1-8B-Instruct",
            "engine": "VLLM",
            "features": ["TextGeneration"],
            "resourceProfile": "nvidia-gpu-l4:1",
            "args": ["--max-model-len=8192", "--enable-prefix-caching"],
            "minReplicas": 0,
            "maxReplicas": 3,
            "targetRequests": 32,
            "loadBalancing": {"strategy": "PrefixHash"},
            "adapters": [{"name": "sql-lora", "url": "hf://org/sql-lora"}],
        },
    },
    {
        "metadata": {"name": "gemma2-2b-cpu", "namespace": "kubeai"},
        "spec": {
            "url": "ollama://gemma2:2b",
            "engine": "OLlama",
            "features": ["TextGeneration"],
            "resourceProfile": "cpu:2",
            "minReplicas": 1,
        },
    },
    {
        "metadata": {"name": "bge-embed-text-cpu", "namespace": "kubeai",
                     "annotations": {"openrouter.kmm.io/publish": "true",
                                     "openrouter.kmm.io/context-length": "512"}},
        "spec": {
            "url": "hf://BAAI/bge-small-en-v1.5",
            "engine": "Infinity",
            "features": ["TextEmbedding"],
            "resourceProfile": "cpu:1",
            "minReplicas": 0,
        },
    },
    {
        "metadata": {"name": "bge-rerank-base-cpu", "namespace": "research"},
        "spec": {
            "url": "hf://BAAI/bge-reranker-base",
            "engine": "Infinity",
            "features": ["Reranking"],
            "resourceProfile": "cpu:1",
        },
    },
    {
        "metadata": {"name": "faster-whisper-medium-en-cpu", "namespace": "research"},
        "spec": {
            "url": "hf://Systran/faster-whisper-medium.en",
            "engine": "FasterWhisper",
            "features": ["SpeechToText"],
            "resourceProfile": "cpu:1",
            "minReplicas": 0,
            "env": {"WHISPER__MIN_DURATION": "1"},
        },
    },
    {
        "metadata": {"name": "qwen2.5-7b-cached", "namespace": "kubeai"},
        "spec": {
            "url": "s3://models/qwen2.5-7b-instruct",
            "engine": "VLLM",
            "features": ["TextGeneration", "TextEmbedding"],
            "cacheProfile": "standard-filestore",
            "resourceProfile": "nvidia-gpu-l4:1",
            "files": [{"path": "/config/chat-template.jinja", "content": "{{ messages }}"}],
            "autoscalingDisabled": True,
            "replicas": 1,
        },
    },
    {
        # Two GPUs per replica while every GPU node has one: it stays Pending, and says why.
        "metadata": {"name": "mixtral-8x7b-instruct-l4x2", "namespace": "kubeai"},
        "spec": {
            "url": "hf://mistralai/Mixtral-8x7B-Instruct-v0.1",
            "engine": "VLLM",
            "features": ["TextGeneration"],
            "resourceProfile": "nvidia-gpu-l4:2",
            "minReplicas": 1,
            "maxReplicas": 2,
        },
    },
]


def fleet_sample_names() -> list[str]:
    """The samples KubeAI acts on (it watches only its own namespace)."""
    from devcluster.fleet import NAMESPACE

    return [s["metadata"]["name"] for s in SAMPLES if s["metadata"]["namespace"] == NAMESPACE]


def seed_samples(kubeconfig: Path, fleet: Any = None) -> int:
    """Create the sample namespaces and models (existing ones are left alone).

    With a fleet, KubeAI's models point its proxy at the stand-in model server.
    """
    import copy

    import kube

    cluster = kube.Cluster.from_kubeconfig(kubeconfig)
    caller = cluster.as_app()
    try:
        for namespace in SAMPLE_NAMESPACES:
            kube.create_namespace(caller, namespace, exist_ok=True)
        for sample in SAMPLES:
            body = copy.deepcopy(sample)
            if fleet is not None and body["metadata"]["namespace"] == fleet.namespace:
                body["metadata"].setdefault("annotations", {}).update(
                    fleet.pod_address_annotations())
            with contextlib.suppress(kube.AlreadyExists):
                kube.create_model(caller, body)
    finally:
        cluster.close()
    return len(SAMPLES)
