"""The operator console against the fleet: KubeAI's real controller and proxy, the real
kube-scheduler and kube-controller-manager, KWOK nodes (devcluster/fleet.py, issue 9).
The browser tests of the other features: test_fleet_console_browser.py.
"""

from __future__ import annotations

from typing import Any

from django.test import Client

import kube
from devcluster import fleet
from tests.fleet.conftest import fleet_model, live_pods, ready_pods, settle
from tests.fleet.test_fleet import post_json


def test_the_prompt_is_answered_through_kubeai_after_waking_from_zero(
        console: fleet.Fleet, fleet_admin: kube.Caller, model_name: str) -> None:
    kube.create_model(fleet_admin, fleet_model(model_name, console, minReplicas=0,
                                               maxReplicas=1))
    client = Client()
    url = f"/console/models/{fleet.NAMESPACE}/{model_name}/prompt/"
    settle(lambda: client.get(f"/models/{fleet.NAMESPACE}/{model_name}/").status_code == 200,
           "the model page")
    first = client.post(url, {"prompt": "Hello"}, HTTP_HX_REQUEST="true")
    assert b'data-testid="waking"' in first.content, first.content[:2000]
    job = first.context["job"]
    pages: list[bytes] = []

    def answered() -> bool:
        response = client.post(url + "progress/", {"job": job, "prompt": "Hello"},
                               HTTP_HX_REQUEST="true")
        pages.append(response.content)
        return b'data-testid="answer"' in response.content or b"prompt-error" in response.content

    settle(answered, "KubeAI's answer", timeout=150)
    assert f"stand-in reply from {model_name}".encode() in pages[-1], pages[-1][:2000]
    assert any(b"Waking up" in page for page in pages[:-1]) or len(pages) == 1
    assert ready_pods(fleet_admin, model_name)  # KubeAI scaled it up for the request


def test_a_reranking_model_answers_the_prompt_through_kubeai(
        console: fleet.Fleet, fleet_admin: kube.Caller, model_name: str) -> None:
    kube.create_model(fleet_admin, fleet_model(
        model_name, console, url="hf://BAAI/bge-reranker-base", engine="Infinity",
        features=["Reranking"], minReplicas=1, maxReplicas=1))
    try:
        settle(lambda: len(ready_pods(fleet_admin, model_name)) == 1, "KubeAI's pod")
        # KubeAI's proxy forwards /openai/v1/rerank to the model's pod.
        direct = post_json(f"{console.openai_url}/rerank", {
            "model": model_name, "query": "GPU nodes",
            "documents": ["cpu only", "two GPU nodes"]})
        assert [r["document_index"] for r in direct["data"]] == [1, 0]

        client = Client()
        settle(lambda: client.get(f"/models/{fleet.NAMESPACE}/{model_name}/").context[
            "row"].ready_replicas == 1, "kmm's cache to see the ready replica")
        page = client.get(f"/models/{fleet.NAMESPACE}/{model_name}/").content.decode()
        assert 'for="prompt-documents"' in page  # the rerank console: a query and documents
        answer = client.post(f"/console/models/{fleet.NAMESPACE}/{model_name}/prompt/", {
            "prompt": "GPU nodes", "documents": "cpu only\ntwo GPU nodes\nGPU"},
            HTTP_HX_REQUEST="true")
        assert answer.status_code == 200
        assert answer.context["answer"].ok, answer.context["answer"].text
        assert answer.context["answer"].text == ("#1 1.0000: two GPU nodes\n#2 0.5000: GPU\n"
                                                 "#0 0.0000: cpu only")
    finally:
        kube.delete_model(fleet_admin, fleet.NAMESPACE, model_name)


def test_scale_to_zero_and_wake_with_pods_following(console: fleet.Fleet,
                                                    fleet_admin: kube.Caller,
                                                    model_name: str) -> None:
    kube.create_model(fleet_admin, fleet_model(model_name, console, minReplicas=0,
                                               maxReplicas=3, autoscalingDisabled=True))
    client = Client()
    url = f"/console/models/{fleet.NAMESPACE}/{model_name}/scale/"
    first = client.post(url, {"op": "wake", "replicas": "2"})
    assert first.status_code == 302
    settle(lambda: len(ready_pods(fleet_admin, model_name)) == 2, "two ready pods")
    verdicts: list[str] = []

    def ready_verdict() -> bool:
        page = client.get(f"/models/{fleet.NAMESPACE}/{model_name}/").content.decode()
        verdicts.append(page.split('data-testid="verdict">')[1].split("<")[0])
        return verdicts[-1] == "Ready: 2 of 2 replicas ready."

    try:
        settle(ready_verdict, "the Ready verdict")
    finally:
        print("verdicts seen:", sorted(set(verdicts)))
    client.post(url, {"op": "down"})
    settle(lambda: len(live_pods(fleet_admin, model_name)) == 1, "one pod")
    client.post(url, {"op": "zero"})
    settle(lambda: not live_pods(fleet_admin, model_name), "no pods")


def test_the_verdict_for_a_model_the_scheduler_cannot_place(console: fleet.Fleet,
                                                            fleet_admin: kube.Caller,
                                                            model_name: str) -> None:
    kube.create_model(fleet_admin, fleet_model(model_name, console, minReplicas=1,
                                               maxReplicas=1, resourceProfile="nvidia-gpu-l4:2"))
    nodes = len(fleet.NODES)
    client = Client()
    pages: list[str] = []

    def explained() -> bool:
        page = client.get(f"/models/{fleet.NAMESPACE}/{model_name}/").content.decode()
        pages.append(page)
        return (f"Waiting for a node with 2 nvidia.com/gpu: 0 of {nodes} nodes fit" in page
                and "Insufficient nvidia.com/gpu" in page)

    settle(explained, "the verdict")
    fit = client.get("/console/fit/", {"resource_profile": "cpu", "resource_count": "1"})
    assert "fits on 2 nodes" in fit.content.decode()
    fit = client.get("/console/fit/", {"resource_profile": "nvidia-gpu-l4",
                                       "resource_count": "1"})
    assert "fits on 2 nodes" in fit.content.decode()


def test_in_a_browser_the_prompt_wakes_a_model_through_kubeai(
        console: fleet.Fleet, fleet_kmm: str, fleet_admin: kube.Caller, model_name: str,
        page: Any) -> None:
    from playwright.sync_api import expect

    kube.create_model(fleet_admin, fleet_model(model_name, console, minReplicas=0,
                                               maxReplicas=1))
    page.goto(f"{fleet_kmm}/models/{fleet.NAMESPACE}/{model_name}/")
    expect(page.get_by_test_id("verdict")).to_have_text(
        "Scaled to zero: KubeAI starts it on the first request.")
    page.get_by_role("textbox", name="Prompt").fill("Hello")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("waking")).to_contain_text("Waking up")
    expect(page.get_by_test_id("answer")).to_have_text(
        f"stand-in reply from {model_name}", timeout=120_000)
    expect(page.get_by_test_id("verdict")).to_have_text("Ready: 1 of 1 replica ready.",
                                                         timeout=30_000)
