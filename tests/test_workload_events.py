"""Events of what KubeAI runs for a model (its pods, cache Jobs and cache PVC), read as
the caller, newest first: KubeAI itself emits none on Models."""

from __future__ import annotations

import json

import pytest
from django.test import Client

import kube
from tests.conftest import (
    create_event,
    kubectl,
    make_model,
    requests_served,
    set_status,
    wait_for_cache,
)
from tests.consolekit import caught_up

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


def pending_pod(namespace: str, model: str, message: str) -> None:
    """A pod of the model that the scheduler gave up on (as kube-scheduler records it)."""
    name = f"model-{model}-5d8f7c9b-abcde"
    # This plane runs no controller-manager: the ServiceAccount admission needs "default".
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "default", "namespace": namespace}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": namespace, "labels": {"model": model}},
         "spec": {"automountServiceAccountToken": False,
                  "containers": [{"name": "server", "image": "vllm/vllm-openai:v0.10.2"}]}}]}))
    kubectl("patch", "pod", name, "-n", namespace, "--subresource=status", "--type=merge", "-p",
            json.dumps({"status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": message}]}}))


def test_the_list_says_why_a_model_is_not_ready_and_refreshes_when_only_the_pod_changes(
        client: Client, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "big", minReplicas=1,
                                        resourceProfile="nvidia-gpu-l4:2"))
    set_status(namespace, "big", {"replicas": {"all": 1, "ready": 0}})
    wait_for_cache(admin, namespace)
    pending_pod(namespace, "big", "0/4 nodes are available: 2 Insufficient nvidia.com/gpu.")
    caught_up(admin, namespace)  # the reason is read from kmm's pod watch cache
    first = client.get("/", {"namespace": namespace})
    row = first.context["cl"].rows[0]
    assert row.state == "not-ready"
    assert row.not_ready_reason == ("Unschedulable: 0/4 nodes are available: "
                                    "2 Insufficient nvidia.com/gpu.")
    assert "2 Insufficient nvidia.com/gpu." in first.content.decode()

    poll = {"HX-Request": "true", "HX-Target": "changelist-results"}
    unchanged = client.get("/", {"namespace": namespace},
                           headers={**poll, "If-None-Match": first["ETag"]})
    assert unchanged.status_code == 304
    # Only the pod changes (the model does not): the open list still gets the new reason.
    pending_pod(namespace, "big", "0/4 nodes are available: 4 Insufficient memory.")
    caught_up(admin, namespace)
    again = client.get("/", {"namespace": namespace},
                       headers={**poll, "If-None-Match": first["ETag"]})
    assert again.status_code == 200
    assert "4 Insufficient memory." in again.content.decode()


def pod_lists_served() -> int:
    """How many namespaced pod LISTs the API server has served (its own metrics)."""
    return requests_served("pods", "LIST", "namespace")


def test_polling_a_page_with_a_not_ready_model_reads_no_pods_from_the_api_server(
        client: Client, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "llama-3.1-8b", minReplicas=1))
    set_status(namespace, "llama-3.1-8b", {"replicas": {"all": 1, "ready": 0}})
    wait_for_cache(admin, namespace)
    pending_pod(namespace, "llama-3.1-8b", "0/4 nodes are available: 4 Insufficient memory.")
    caught_up(admin, namespace)
    poll = {"HX-Request": "true", "HX-Target": "changelist-results"}
    detail_poll = {"HX-Request": "true", "HX-Target": "model-live"}
    before = pod_lists_served()
    for _ in range(5):  # each a full answer (no If-None-Match), as a new tab would get
        listed = client.get("/", {"namespace": namespace}, headers=poll)
        assert "4 Insufficient memory." in listed.content.decode()
        live = client.get(f"/models/{namespace}/llama-3.1-8b/", headers=detail_poll)
        assert "4 Insufficient memory." in live.content.decode()
    assert pod_lists_served() == before
