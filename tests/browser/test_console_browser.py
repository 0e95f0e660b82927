"""The operator console in a real Chromium, against a real API server.

Pods, nodes, events and KubeAI's config are real API objects written as KubeAI, the
scheduler and the kubelet would (tests/consolekit.py); tests/fleet runs KubeAI itself.
"""

from __future__ import annotations

import threading
from typing import Any

from playwright.sync_api import Page, expect

import kube
from devcluster.controlplane import stop_process
from tests.browser.conftest import download_export
from tests.conftest import make_model, set_status, wait_for_cache
from tests.consolekit import (
    caught_up,
    install_cluster_objects,
    model_pod,
    running_status,
    unschedulable_status,
    warning_event,
)


def test_an_unschedulable_model_says_why(page: Page, kmm_url: str, admin: kube.Caller,
                                         namespace: str, screenshot: Any) -> None:
    nodes = install_cluster_objects(admin)
    kube.create_model(admin, make_model(
        namespace, "llama-3.1-70b-instruct", url="hf://meta-llama/Llama-3.1-70B-Instruct",
        resourceProfile="nvidia-gpu-h100:2", replicas=1, minReplicas=1, maxReplicas=2,
        args=["--tensor-parallel-size=2", "--max-model-len=32768"]))
    message = (f"0/{nodes} nodes are available: 2 Insufficient nvidia.com/gpu, 2 node(s) had "
               "untolerated taint {nvidia.com/gpu: present}. preemption: 0/4 nodes are "
               "available: 4 No preemption victims found for incoming pod.")
    pod = model_pod(admin, namespace, "llama-3.1-70b-instruct", gpus=2,
                    status=unschedulable_status(message))
    warning_event(admin, namespace, pod, "FailedScheduling", message)
    kube.create_model(admin, make_model(namespace, "qwen2.5-0.5b-instruct", replicas=1,
                                        resourceProfile="cpu:2"))
    model_pod(admin, namespace, "qwen2.5-0.5b-instruct", status=running_status(),
              node="kmm-cpu-1")
    set_status(namespace, "qwen2.5-0.5b-instruct", {"replicas": {"all": 1, "ready": 1}})
    wait_for_cache(admin, namespace)
    caught_up(admin, namespace)

    page.goto(f"{kmm_url}/models/{namespace}/llama-3.1-70b-instruct/")
    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_have_text(f"Waiting for a node with 2 nvidia.com/gpu: 0 of {nodes} "
                                 "nodes fit")
    expect(page.locator("table.pods")).to_contain_text("Unschedulable: 0/")
    expect(page.locator(".why-panel")).to_contain_text("minReplicas is 1, but the nodes can "
                                                       "hold only 0 replicas")
    screenshot("console-detail-unschedulable")
    page.emulate_media(color_scheme="dark")
    screenshot("console-detail-unschedulable-dark")
    page.emulate_media(color_scheme="light")

    page.goto(f"{kmm_url}/models/{namespace}/qwen2.5-0.5b-instruct/")
    expect(page.get_by_test_id("verdict")).to_have_text("Ready: 1 of 1 replica ready.")

    page.goto(f"{kmm_url}/?namespace={namespace}")
    badge = page.locator(f"tr[data-model='{namespace}/llama-3.1-70b-instruct'] "
                         "[data-testid=badge]")
    expect(badge).to_have_attribute("title", f"Waiting for a node with 2 nvidia.com/gpu: 0 of "
                                             f"{nodes} nodes fit")
    expect(page.locator(f"tr[data-model='{namespace}/qwen2.5-0.5b-instruct'] "
                        "[data-testid=badge]")).to_have_count(0)

    # The panel follows the pods live: the pod is scheduled and starts.
    page.goto(f"{kmm_url}/models/{namespace}/qwen2.5-0.5b-instruct/")
    set_status(namespace, "qwen2.5-0.5b-instruct", {"replicas": {"all": 2, "ready": 1}})
    kube.patch_model(admin, namespace, "qwen2.5-0.5b-instruct", {"spec": {"replicas": 2}})
    model_pod(admin, namespace, "qwen2.5-0.5b-instruct", node="kmm-cpu-2",
              status={"phase": "Pending", "containerStatuses": [{
                  "name": "server", "ready": False, "restartCount": 0, "image": "x",
                  "imageID": "", "state": {"waiting": {
                      "reason": "ImagePullBackOff",
                      "message": 'Back-off pulling image "vllm/vllm-openai:v0.10.2"'}}}]})
    expect(page.get_by_test_id("verdict")).to_contain_text("Cannot pull the image", timeout=10000)


def test_the_catalog_deploys_a_preset_with_fit_checks(page: Page, kmm_url: str,
                                                      admin: kube.Caller, namespace: str,
                                                      screenshot: Any) -> None:
    install_cluster_objects(admin)
    page.goto(f"{kmm_url}/console/catalog/?namespace={namespace}")
    cpu = page.locator("tr[data-preset='qwen2.5-0.5b-instruct-cpu']")
    expect(cpu.get_by_test_id("fit")).to_have_text("fits on 2 nodes")
    two_gpus = page.locator("tr[data-preset='llama-3.1-70b-instruct-h100']")
    expect(two_gpus.get_by_test_id("fit")).to_have_text("no node has 2 nvidia.com/gpu")
    expect(page.locator("tr[data-preset='llama-3.1-8b-instruct-l4']").get_by_test_id("fit")
           ).to_have_text("fits on 2 nodes")
    screenshot("console-catalog")
    page.emulate_media(color_scheme="dark")
    screenshot("console-catalog-dark")
    page.emulate_media(color_scheme="light")

    page.get_by_label("Search presets").fill("whisper")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tr[data-preset]")).to_have_count(1)
    page.goto(f"{kmm_url}/console/catalog/?namespace={namespace}")

    page.get_by_role("link", name="Deploy qwen2.5-0.5b-instruct-cpu").click()
    expect(page.get_by_role("heading", name="Add model")).to_be_visible()
    expect(page.locator("#id_name")).to_have_value(
        "qwen2.5-0.5b-instruct-cpu")
    expect(page.get_by_label("Resource profile")).to_have_value("cpu")
    expect(page.locator("#form-fit")).to_have_text("fits on 2 nodes")
    # The profile is a choice of the ones KubeAI's config defines.
    expect(page.get_by_label("Resource profile").locator("option")).to_have_text(
        ["No profile", "cpu", "nvidia-gpu-h100", "nvidia-gpu-l4"])
    page.get_by_label("Resource profile").select_option("nvidia-gpu-h100")
    page.get_by_role("spinbutton", name="Count").fill("2")
    page.get_by_role("spinbutton", name="Count").dispatch_event("change")
    expect(page.locator("#form-fit")).to_have_text("no node has 2 nvidia.com/gpu")
    page.get_by_label("Resource profile").select_option("cpu")
    page.get_by_role("spinbutton", name="Count").fill("2")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was added")
    made = kube.get_model(admin, namespace, "qwen2.5-0.5b-instruct-cpu")
    assert made["spec"]["resourceProfile"] == "cpu:2"
    assert made["spec"]["args"] == ["--max-model-len=4096"]


def test_scale_to_zero_wake_and_step(page: Page, kmm_url: str, admin: kube.Caller,
                                     namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "llama-3.1-8b", replicas=1,
                                        autoscalingDisabled=True))
    kube.create_model(admin, make_model(namespace, "mistral-7b", replicas=2,
                                        autoscalingDisabled=True))
    wait_for_cache(admin, namespace)

    def replicas(name: str) -> int:
        return int(kube.get_model(admin, namespace, name)["spec"].get("replicas") or 0)

    page.goto(f"{kmm_url}/models/{namespace}/llama-3.1-8b/")
    page.get_by_role("button", name="Scale to zero").click()
    expect(page.locator(".toast")).to_contain_text("scaled from 1 to 0")
    assert replicas("llama-3.1-8b") == 0
    page.get_by_label("Wake to").fill("2")
    page.get_by_role("button", name="Wake").click()
    expect(page.get_by_test_id("desired-replicas")).to_have_text("2")
    page.get_by_role("button", name="Scale up by one").click()
    expect(page.get_by_test_id("desired-replicas")).to_have_text("3")
    page.get_by_role("button", name="Scale down by one").click()
    expect(page.get_by_test_id("desired-replicas")).to_have_text("2")
    assert replicas("llama-3.1-8b") == 2

    page.goto(f"{kmm_url}/?namespace={namespace}")
    page.get_by_role("button", name="Scale mistral-7b to zero").click()
    expect(page.get_by_role("button", name="Wake mistral-7b")).to_be_visible()
    assert replicas("mistral-7b") == 0
    page.get_by_label("Select llama-3.1-8b in " + namespace).check()
    page.get_by_role("button", name="Scale selected to zero").click()
    expect(page.locator(".toast")).to_contain_text("Scaled 1 model to zero")
    assert replicas("llama-3.1-8b") == 0


def test_clone_export_and_import(page: Page, kmm_url: str, admin: kube.Caller,
                                 namespace: str, tmp_path: Any) -> None:
    kube.create_model(admin, make_model(
        namespace, "llama-3.1-8b", args=["--max-model-len=8192"], env={"HF_HOME": "/cache"},
        resourceProfile="cpu:1", minReplicas=0, maxReplicas=3))
    wait_for_cache(admin, namespace)
    page.goto(f"{kmm_url}/models/{namespace}/llama-3.1-8b/")
    page.get_by_role("link", name="Save as new…").click()
    expect(page.locator("#id_name")).to_have_value(
        "llama-3.1-8b-copy")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was added")
    original = kube.get_model(admin, namespace, "llama-3.1-8b")["spec"]
    assert kube.get_model(admin, namespace, "llama-3.1-8b-copy")["spec"] == original

    exported, document = download_export(page, f"{kmm_url}/models/{namespace}/llama-3.1-8b/", tmp_path)
    assert "status" not in document
    assert "uid" not in document["metadata"]
    kube.delete_model(admin, namespace, "llama-3.1-8b")
    wait_for_cache(admin, namespace)

    page.goto(f"{kmm_url}/console/import/")
    page.get_by_label("or a file").set_input_files(str(exported))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(f"tr[data-model='{namespace}/llama-3.1-8b'] [data-testid=action]")
           ).to_have_text("create")
    assert kube.list_models(admin, namespace)[0]["metadata"]["name"] == "llama-3.1-8b-copy"
    page.get_by_role("button", name="Apply the change").click()
    expect(page.locator(".toast").first).to_contain_text("created")
    assert kube.get_model(admin, namespace, "llama-3.1-8b")["spec"] == original


def test_a_helm_managed_model_is_flagged(page: Page, kmm_url: str, admin: kube.Caller,
                                         namespace: str) -> None:
    model = make_model(namespace, "charted")
    model["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "Helm"}
    model["metadata"]["annotations"] = {"meta.helm.sh/release-name": "models"}
    kube.create_model(admin, model)
    wait_for_cache(admin, namespace)
    page.goto(f"{kmm_url}/models/{namespace}/charted/")
    expect(page.get_by_test_id("managed-elsewhere")).to_contain_text(
        "belongs to Helm release models")
    page.goto(f"{kmm_url}/models/{namespace}/charted/change/")
    banner = page.get_by_test_id("managed-elsewhere")
    expect(banner).to_contain_text("reverted by its next sync")
    expect(banner.get_by_role("link", name="Export it as clean YAML")).to_be_visible()


def test_the_test_prompt_wakes_a_model_and_shows_the_answer(
        page: Page, control_plane: Any, admin: kube.Caller, namespace: str) -> None:
    """The console's HTTP side against an OpenAI-shaped stand-in on loopback (the same
    console through KubeAI's real proxy: tests/fleet). While the model is at zero the page
    shows it waking up; the answer replaces that when it comes."""
    from http.server import ThreadingHTTPServer

    from tests.browser.conftest import start_kmm
    from tests.test_console_prompt import StandIn

    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    process, url = start_kmm(control_plane,
                             KMM_KUBEAI_URL=f"http://127.0.0.1:{server.server_address[1]}")
    try:
        kube.create_model(admin, make_model(namespace, "llama-3.1-8b", minReplicas=0))
        wait_for_cache(admin, namespace)
        page.goto(f"{url}/models/{namespace}/llama-3.1-8b/")
        page.get_by_role("textbox", name="Prompt").fill("slow")  # the stand-in takes 2.5 s: time to see it
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_test_id("waking")).to_contain_text("Waking up")
        expect(page.get_by_test_id("answer")).to_have_text("echo: slow", timeout=15000)
        expect(page.get_by_test_id("latency")).to_be_visible()
    finally:
        stop_process(process, grace=10)
        server.shutdown()
        server.server_close()
