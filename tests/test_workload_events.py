"""Events of what KubeAI runs for a model (its pods, cache Jobs and cache PVC), read as
the caller, newest first: KubeAI itself emits none on Models."""

from __future__ import annotations

import json

import pytest
from django.test import Client

import kube
from tests.conftest import create_event, kubectl, make_model

pytestmark = pytest.mark.cluster


def event_on(namespace: str, kind: str, name: str, reason: str, stamp: str) -> None:
    api_version = "batch/v1" if kind == "Job" else "v1"
    kubectl("create", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": f"{name}.", "namespace": namespace},
        "involvedObject": {"apiVersion": api_version, "kind": kind, "name": name,
                           "namespace": namespace},
        "reason": reason, "message": f"{reason} on {name}", "type": "Warning",
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "source": {"component": "test"}}))


def test_it_lists_the_events_of_the_models_pods_jobs_and_cache_pvc_newest_first(
        admin: kube.Caller, namespace: str) -> None:
    model = kube.create_model(admin, make_model(namespace, "llama", cacheProfile="fast"))
    create_event(model, "Created", "2026-01-01T00:00:00Z")
    event_on(namespace, "Job", "load-cache-llama", "Completed", "2026-01-01T00:00:01Z")
    event_on(namespace, "PersistentVolumeClaim", "shared-model-cache-fast", "Bound",
             "2026-01-01T00:00:02Z")
    event_on(namespace, "Pod", "model-llama-7c9f5d8b6-x2k4q", "FailedScheduling",
             "2026-01-01T00:00:03Z")
    event_on(namespace, "Pod", "model-llama-3-7c9f5d8b6-abcde", "Other", "2026-01-01T00:00:04Z")
    event_on(namespace, "Job", "load-cache-llama-3", "Other", "2026-01-01T00:00:05Z")

    events = kube.list_workload_events(admin, model)

    assert [(e["involvedObject"]["kind"], e["reason"]) for e in events] == [
        ("Pod", "FailedScheduling"), ("PersistentVolumeClaim", "Bound"), ("Job", "Completed"),
        ("Model", "Created")]


def test_a_caller_without_rights_on_events_is_refused(cluster: kube.Cluster,
                                                      admin: kube.Caller, namespace: str) -> None:
    model = kube.create_model(admin, make_model(namespace, "private"))
    with pytest.raises(kube.Forbidden):
        kube.list_workload_events(cluster.impersonating("eve", []), model)


def test_the_detail_page_shows_the_pod_events(client: Client, admin: kube.Caller,
                                              namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "pending"))
    event_on(namespace, "Pod", "model-pending-5d8f7c9b-zz9zz", "FailedScheduling",
             "2026-01-01T00:00:03Z")
    page = client.get(f"/models/{namespace}/pending/").content.decode()
    assert "FailedScheduling" in page
    assert "Pod model-pending-5d8f7c9b-zz9zz" in page
