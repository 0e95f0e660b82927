"""kmm against KubeAI's real controller, proxy and autoscaler on a simulated fleet."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from django.test import Client

import kube
from devcluster import fleet
from tests.fleet.conftest import (
    FIGURES,
    fleet_model,
    live_pods,
    ready_pods,
    settle,
)
from tests.test_ui_views import form_data, new_model_data

NS = fleet.NAMESPACE


def list_row(client: Client, name: str) -> Any:
    rows = client.get("/", {"namespace": NS, "q": name}).context["cl"].rows
    return next((r for r in rows if r.name == name), None)


def row_state(client: Client, name: str) -> str | None:
    row = list_row(client, name)
    return None if row is None else str(row.state)


def change(client: Client, name: str, **fields: str) -> None:
    data = form_data(client.get(f"/models/{NS}/{name}/change/"))
    data.update(fields)
    response = client.post(f"/models/{NS}/{name}/change/", data)
    assert response.status_code == 302, (response.status_code,
                                         getattr(response, "context", None)
                                         and response.context.get("form")
                                         and response.context["form"].errors)


def gone(caller: kube.Caller, name: str) -> bool:
    try:
        kube.get_model(caller, NS, name)
    except kube.NotFound:
        return True
    return False


def test_a_model_created_in_kmm_runs_follows_its_replicas_and_is_garbage_collected(
        client: Client, fleet_admin: kube.Caller, running: fleet.Fleet, model_name: str) -> None:
    started = time.monotonic()
    response = client.post("/add/", new_model_data(
        NS, model_name, resource_profile="cpu", resource_count="1", minReplicas="1",
        maxReplicas="3"))
    assert response.status_code == 302

    settle(lambda: row_state(client, model_name) == "ready", "the list to show it Ready")
    FIGURES["create to Ready in the list (s)"] = time.monotonic() - started
    assert len(ready_pods(fleet_admin, model_name)) == 1
    pod = live_pods(fleet_admin, model_name)[0]
    assert pod["spec"]["nodeName"].startswith("kwok-cpu-")  # placed by the real scheduler

    change(client, model_name, minReplicas="2")
    settle(lambda: len(ready_pods(fleet_admin, model_name)) == 2, "a second ready pod")
    settle(lambda: (row := list_row(client, model_name)) is not None
           and row.ready_replicas == 2 and row.state == "ready", "the list to show 2/2")

    change(client, model_name, minReplicas="0", replicas="0")
    settle(lambda: not kube.list_model_pods(fleet_admin, NS, model_name), "the pods to go")
    settle(lambda: row_state(client, model_name) == "scaled-to-zero",
           "the list to show Scaled to zero")

    change(client, model_name, minReplicas="1")
    settle(lambda: len(ready_pods(fleet_admin, model_name)) == 1, "a pod again")
    response = client.post(f"/models/{NS}/{model_name}/delete/")
    assert response.status_code == 302
    settle(lambda: gone(fleet_admin, model_name), "the model to go")
    settle(lambda: not kube.list_model_pods(fleet_admin, NS, model_name),
           "its pods to be garbage collected")


def test_a_model_that_needs_two_gpus_per_pod_is_not_ready_and_says_why(
        client: Client, fleet_admin: kube.Caller, running: fleet.Fleet, model_name: str) -> None:
    kube.create_model(fleet_admin, fleet_model(model_name, running,
                                               resourceProfile="nvidia-gpu-l4:2", minReplicas=1))
    try:
        settle(lambda: any(fleet.pod_unschedulable(p)
                           for p in live_pods(fleet_admin, model_name)),
               "the scheduler to give up on its pod")
        settle(lambda: (row := list_row(client, model_name)) is not None
               and row.not_ready_reason is not None, "the list to give the reason")
        row = list_row(client, model_name)
        assert row.state == "not-ready"
        assert "Insufficient nvidia.com/gpu" in row.not_ready_reason

        def detail_shows_the_event() -> bool:
            page = client.get(f"/models/{NS}/{model_name}/").content.decode()
            return "FailedScheduling" in page and "Insufficient nvidia.com/gpu" in page

        settle(detail_shows_the_event, "the detail page to show FailedScheduling")
    finally:
        kube.delete_model(fleet_admin, NS, model_name)


def test_a_cached_model_loads_its_cache_and_delete_evicts_it(
        client: Client, fleet_admin: kube.Caller, running: fleet.Fleet, model_name: str) -> None:
    kube.create_model(fleet_admin, fleet_model(model_name, running, url="hf://org/cached",
                                               cacheProfile=fleet.CACHE_PROFILE, minReplicas=0))
    settle(lambda: ((kube.get_model(fleet_admin, NS, model_name).get("status") or {})
                    .get("cache") or {}).get("loaded") is True, "KubeAI's loader Job")
    model = kube.get_model(fleet_admin, NS, model_name)
    assert "kubeai.org/cache-eviction" in model["metadata"]["finalizers"]
    settle(lambda: (row := list_row(client, model_name)) is not None
           and row.cache_loaded is True, "the list to show the cache loaded")
    page = client.get(f"/models/{NS}/{model_name}/").content.decode()
    assert "load-cache-" + model_name in page  # the loader Job's events

    response = client.post(f"/models/{NS}/{model_name}/delete/")
    assert response.status_code == 302
    settle(lambda: gone(fleet_admin, model_name), "eviction to finish and the finalizer to go")
    reasons = {(e["involvedObject"]["name"], e["reason"])
               for e in kube.list_workload_events(fleet_admin, model)}
    assert (f"evict-cache-{model_name}", "SuccessfulCreate") in reasons


def test_kubeai_and_kmm_list_the_same_published_ids(
        client: Client, fleet_admin: kube.Caller, running: fleet.Fleet, model_name: str) -> None:
    published = {"openrouter.kmm.io/publish": "true"}
    chat = fleet_model(f"{model_name}-chat", running, minReplicas=0,
                       adapters=[{"name": "sql", "url": "hf://org/sql-lora"}])
    embed = fleet_model(f"{model_name}-embed", running, minReplicas=0,
                        features=["TextEmbedding"], engine="Infinity")
    hidden = fleet_model(f"{model_name}-hidden", running, minReplicas=0)
    for body in (chat, embed):
        body["metadata"]["annotations"].update(published)
    names = [b["metadata"]["name"] for b in (chat, embed, hidden)]
    for body in (chat, embed, hidden):
        kube.create_model(fleet_admin, body)
    try:
        features = "feature=TextGeneration&feature=TextEmbedding"

        def kubeai_ids() -> set[str]:
            data = fleet.openai_get(running, f"/models?{features}")["data"]
            return {m["id"] for m in data if m["id"].split("_")[0] in names}

        settle(lambda: len(kubeai_ids()) == 4, "KubeAI to list the models")
        assert kubeai_ids() == {names[0], f"{names[0]}_sql", names[1], names[2]}

        def kmm_ids() -> set[str]:
            body = json.loads(client.get("/public/api/models", {"format": "openai"}).content)
            return {m["id"] for m in body["data"] if m["id"].split("_")[0] in names}

        settle(lambda: len(kmm_ids()) == 3, "kmm's cache to catch up")
        assert kmm_ids() == kubeai_ids() - {names[2]}
    finally:
        for name in names:
            kube.delete_model(fleet_admin, NS, name)


def post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    # The fleet's own loopback http:// address.
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=90) as response:  # noqa: S310
        return dict(json.loads(response.read()))


def test_a_request_through_kubeais_proxy_wakes_a_model_from_zero(
        client: Client, fleet_admin: kube.Caller, running: fleet.Fleet, model_name: str) -> None:
    kube.create_model(fleet_admin, fleet_model(model_name, running, minReplicas=0,
                                               maxReplicas=2))
    try:
        settle(lambda: row_state(client, model_name) == "scaled-to-zero", "the list to load")
        assert not live_pods(fleet_admin, model_name)

        started = time.monotonic()
        answer = post_json(f"{running.openai_url}/chat/completions", {
            "model": model_name, "messages": [{"role": "user", "content": "hello"}]})
        FIGURES["wake from zero through KubeAI's proxy (s)"] = time.monotonic() - started
        assert answer["choices"][0]["message"]["content"].startswith("stand-in reply from")
        assert kube.get_model(fleet_admin, NS, model_name)["spec"]["replicas"] == 1
        settle(lambda: (row := list_row(client, model_name)) is not None
               and row.ready_replicas == 1, "kmm to show the replica")

        completion = post_json(f"{running.openai_url}/completions",
                               {"model": model_name, "prompt": "hi"})
        assert completion["choices"][0]["text"].startswith("stand-in completion from")
    finally:
        kube.delete_model(fleet_admin, NS, model_name)


def test_kubeai_serves_its_openai_api_on_a_port_of_its_own(running: fleet.Fleet) -> None:
    assert running.openai_url.endswith("/openai/v1")
    assert not running.openai_url.startswith("http://127.0.0.1:8000/")
    assert fleet.openai_get(running, "/models")["object"] == "list"


def test_a_save_followed_at_once_by_kubeais_write_does_not_wait_out_its_timeout(
        fleet_admin: kube.Caller, running: fleet.Fleet, model_name: str) -> None:
    from kube.cache import model_cache, wait_for_write

    kube.create_model(fleet_admin, fleet_model(model_name, running, minReplicas=0))
    try:
        written = kube.patch_model(fleet_admin, NS, model_name, {"spec": {"minReplicas": 1}})
        version = int(written["metadata"]["resourceVersion"])

        def cache_is_past_it() -> bool:
            current = model_cache().snapshot().get(NS, model_name)
            return current is not None and int(current["metadata"]["resourceVersion"]) > version

        settle(cache_is_past_it, "KubeAI's write after ours to reach kmm's cache")
        # The cache skipped past our exact version: "this version or newer" still counts.
        assert wait_for_write(NS, model_name, written, timeout=0.01)
    finally:
        kube.delete_model(fleet_admin, NS, model_name)
