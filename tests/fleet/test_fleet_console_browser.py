"""The operator console in Chromium against the fleet: KubeAI's real controller decides the
status, the real kube-scheduler places (or cannot place) the pods on KWOK's nodes, the
controller-manager runs KubeAI's cache loader Job, KWOK plays the kubelets (and, for a
Model that asks, a failing image pull or a crash loop: devcluster/stages.py).

One kmm process serves every test (fleet_kmm); each test cleans up the models it made,
so the CPU nodes keep their room for the next one.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Page, expect

import kube
from devcluster import fleet
from devcluster.stages import CRASH_LOOP, FAULT_ENV, IMAGE_PULL
from kube.scaling import set_replicas
from tests.browser.conftest import download_export
from tests.fleet.conftest import fleet_model, live_pods, ready_pods, settle
from tests.fleet.test_fleet import gone

NS = fleet.NAMESPACE
WAIT_MS = 60_000  # KubeAI and the scheduler act within seconds; a loaded CI machine is slower


def unique(name: str) -> str:
    """A realistic model name, unique in the fleet's one namespace."""
    return f"{name}-{uuid.uuid4().hex[:4]}"


@pytest.fixture
def made(fleet_admin: kube.Caller) -> Iterator[list[str]]:
    """Names of the models a test creates: deleted at its end."""
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(kube.NotFound):
            kube.delete_model(fleet_admin, NS, name)


def create(caller: kube.Caller, made: list[str], body: dict[str, Any]) -> str:
    kube.create_model(caller, body)
    made.append(body["metadata"]["name"])
    return str(body["metadata"]["name"])


def verdict(page: Page) -> Any:
    return page.get_by_test_id("verdict")


def test_in_a_browser_the_verdicts_of_a_healthy_and_an_unschedulable_model(
        console: fleet.Fleet, fleet_kmm: str, fleet_admin: kube.Caller, made: list[str],
        page: Page, screenshot: Any) -> None:
    stuck = create(fleet_admin, made, fleet_model(
        unique("llama-3.1-70b-instruct"), console, url="hf://meta-llama/Llama-3.1-70B-Instruct",
        resourceProfile="nvidia-gpu-l4:2", minReplicas=1, maxReplicas=2,
        args=["--tensor-parallel-size=2", "--max-model-len=32768"]))
    healthy = create(fleet_admin, made, fleet_model(
        unique("qwen2.5-0.5b-instruct"), console, url="hf://Qwen/Qwen2.5-0.5B-Instruct",
        minReplicas=1, maxReplicas=2))
    nodes = len(fleet.NODES)
    sentence = f"Waiting for a node with 2 nvidia.com/gpu: 0 of {nodes} nodes fit"

    page.goto(f"{fleet_kmm}/models/{NS}/{stuck}/")
    expect(verdict(page)).to_have_text(sentence, timeout=WAIT_MS)
    # The real scheduler's reason on KubeAI's pod, and the spec contradiction.
    expect(page.locator("table.pods")).to_contain_text("Insufficient nvidia.com/gpu",
                                                       timeout=WAIT_MS)
    expect(page.locator(".why-panel")).to_contain_text(
        "minReplicas is 1, but the nodes can hold only 0 replicas")
    expect(page.locator(".why-panel")).to_contain_text("no node has 2 nvidia.com/gpu")
    screenshot("fleet-detail-unschedulable")
    page.emulate_media(color_scheme="dark")
    screenshot("fleet-detail-unschedulable-dark")
    page.emulate_media(color_scheme="light")

    page.goto(f"{fleet_kmm}/models/{NS}/{healthy}/")
    expect(verdict(page)).to_have_text("Ready: 1 of 1 replica ready.", timeout=WAIT_MS)
    expect(page.locator("table.pods")).to_contain_text("kwok-cpu-")

    page.goto(f"{fleet_kmm}/?namespace={NS}")
    expect(page.locator(f"tr[data-model='{NS}/{stuck}'] [data-testid=badge]")
           ).to_have_attribute("title", sentence)
    expect(page.locator(f"tr[data-model='{NS}/{healthy}'] [data-testid=badge]")).to_have_count(0)

    page.goto(f"{fleet_kmm}/console/catalog/?namespace={NS}")
    fit = "tr[data-preset='{}'] [data-testid=fit]"
    expect(page.locator(fit.format("qwen2.5-0.5b-instruct-cpu"))).to_contain_text(
        "fits on 2 nodes")
    expect(page.locator(fit.format("llama-3.1-8b-instruct-l4"))).to_contain_text(
        "fits on 2 nodes")
    expect(page.locator(fit.format("qwen2.5-14b-instruct-l4x2"))).to_have_text(
        "no node has 2 nvidia.com/gpu")
    # The fleet's KubeAI defines cpu and nvidia-gpu-l4 only.
    expect(page.locator(fit.format("llama-3.1-70b-instruct-h100"))).to_contain_text(
        "unknown profile 'nvidia-gpu-h100'")
    screenshot("fleet-catalog-fit")
    page.emulate_media(color_scheme="dark")
    screenshot("fleet-catalog-fit-dark")
    page.emulate_media(color_scheme="light")


def test_in_a_browser_a_preset_deploys_with_its_fit_checked_and_kubeai_runs_it(
        console: fleet.Fleet, fleet_kmm: str, fleet_admin: kube.Caller, made: list[str],
        page: Page) -> None:
    # A preset for hardware this cluster's KubeAI does not define: the form shows its
    # profile, marked, and refuses it with the profiles that exist.
    page.goto(f"{fleet_kmm}/console/catalog/?namespace={NS}")
    page.get_by_role("link", name="Deploy llama-3.1-70b-instruct-h100").click()
    profile = page.get_by_label("Resource profile")
    expect(profile).to_have_value("nvidia-gpu-h100")
    expect(profile.locator("option")).to_have_text(
        ["No profile", "cpu", "nvidia-gpu-l4", "nvidia-gpu-h100 (not in KubeAI's config)"])
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#fieldset-resources")).to_contain_text(
        "Unknown resource profile “nvidia-gpu-h100”: this cluster's KubeAI defines cpu, "
        "nvidia-gpu-l4.")
    with pytest.raises(kube.NotFound):
        kube.get_model(fleet_admin, NS, "llama-3.1-70b-instruct-h100")

    name = unique("qwen2.5-0.5b-instruct-cpu")
    page.goto(f"{fleet_kmm}/console/catalog/?namespace={NS}")
    page.get_by_role("link", name="Deploy qwen2.5-0.5b-instruct-cpu").click()
    expect(page.get_by_role("heading", name="Add model")).to_be_visible()
    expect(page.get_by_label("Resource profile")).to_have_value("cpu")
    expect(page.locator("#form-fit")).to_have_text("fits on 2 nodes")
    page.locator("#id_name").fill(name)

    count = page.get_by_role("spinbutton", name="Count")
    profile.select_option("nvidia-gpu-l4")
    count.fill("2")
    count.dispatch_event("change")
    expect(page.locator("#form-fit")).to_have_text("no node has 2 nvidia.com/gpu")
    count.fill("1")
    count.dispatch_event("change")
    expect(page.locator("#form-fit")).to_have_text("fits on 2 nodes")

    profile.select_option("cpu")
    page.get_by_role("spinbutton", name="Count").fill("2")
    page.locator("#id_minReplicas").fill("1")  # the preset starts at zero
    page.get_by_role("button", name="Save", exact=True).click()
    made.append(name)
    expect(page.locator(".toast")).to_contain_text("was added")
    spec = kube.get_model(fleet_admin, NS, name)["spec"]
    assert (spec["resourceProfile"], spec["minReplicas"], spec["args"]) == (
        "cpu:2", 1, ["--max-model-len=4096"])
    settle(lambda: len(ready_pods(fleet_admin, name)) == 1, "KubeAI's pod to be Ready")
    page.goto(f"{fleet_kmm}/models/{NS}/{name}/")
    expect(verdict(page)).to_have_text("Ready: 1 of 1 replica ready.", timeout=WAIT_MS)


def test_in_a_browser_clone_export_and_import_of_a_model_kubeai_manages(
        console: fleet.Fleet, fleet_kmm: str, fleet_admin: kube.Caller, made: list[str],
        page: Page, tmp_path: Path) -> None:
    name = create(fleet_admin, made, fleet_model(
        unique("llama-3.1-8b-instruct"), console, url="hf://meta-llama/Llama-3.1-8B-Instruct",
        minReplicas=1, maxReplicas=3, args=["--max-model-len=8192"],
        env={"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}))
    settle(lambda: ((kube.get_model(fleet_admin, NS, name).get("status") or {})
                    .get("replicas") or {}).get("ready") == 1, "KubeAI's status write")
    source = kube.get_model(fleet_admin, NS, name)
    assert (source["spec"]["owner"], source["spec"]["replicas"]) == ("", 1)  # KubeAI's

    page.goto(f"{fleet_kmm}/models/{NS}/{name}/")
    page.get_by_role("link", name="Save as new…").click()
    expect(page.locator("#id_name")).to_have_value(f"{name}-copy")
    page.get_by_role("button", name="Save", exact=True).click()
    made.append(f"{name}-copy")
    expect(page.locator(".toast")).to_contain_text("was added")
    # The same spec, but for KubeAI's `owner: ""`, which the form leaves unset (KubeAI
    # writes it only when it updates the whole object, to add its feature labels, and
    # the clone has those already).
    assert kube.get_model(fleet_admin, NS, f"{name}-copy")["spec"] == {
        k: v for k, v in source["spec"].items() if k != "owner"}
    settle(lambda: len(ready_pods(fleet_admin, f"{name}-copy")) == 1, "the clone's pod")

    exported, document = download_export(page, f"{fleet_kmm}/models/{NS}/{name}/", tmp_path)
    assert "status" not in document
    assert not {"uid", "resourceVersion", "managedFields", "generation", "creationTimestamp",
                "ownerReferences"} & set(document["metadata"])
    assert document["spec"] == source["spec"]

    # A GitOps edit of the file, in the style of KubeAI's catalog (no replicas, no owner),
    # previewed just before KubeAI scales the model and writes its status: those writes
    # do not touch maxReplicas, so the import applies on top of them and keeps KubeAI's
    # replicas.
    edited = tmp_path / "edited.yaml"
    document["spec"]["maxReplicas"] = 4
    del document["spec"]["replicas"], document["spec"]["owner"]
    edited.write_text(yaml.safe_dump(document))
    page.goto(f"{fleet_kmm}/console/import/")
    page.get_by_label("or a file").set_input_files(str(edited))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(f"tr[data-model='{NS}/{name}'] [data-testid=action]")
           ).to_have_text("update")
    set_replicas(fleet_admin, kube.get_model(fleet_admin, NS, name), 2)
    settle(lambda: ((kube.get_model(fleet_admin, NS, name).get("status") or {})
                    .get("replicas") or {}).get("ready") == 2, "KubeAI's status write")
    page.get_by_role("button", name="Apply the change").click()
    expect(page.locator(".toast").first).to_contain_text("updated")
    spec = kube.get_model(fleet_admin, NS, name)["spec"]
    assert (spec["maxReplicas"], spec["replicas"], spec["owner"]) == (4, 2, "")

    # The round trip: the model deleted, the exported file brings it back identical.
    kube.delete_model(fleet_admin, NS, name)
    settle(lambda: not live_pods(fleet_admin, name), "its pods to go")
    settle(lambda: gone(fleet_admin, name), "the model to go")
    page.goto(f"{fleet_kmm}/console/import/")
    page.get_by_label("or a file").set_input_files(str(exported))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(f"tr[data-model='{NS}/{name}'] [data-testid=action]")
           ).to_have_text("create")
    page.get_by_role("button", name="Apply the change").click()
    expect(page.locator(".toast").first).to_contain_text("created")
    settle(lambda: len(ready_pods(fleet_admin, name)) == 1, "KubeAI to run it again")
    assert kube.get_model(fleet_admin, NS, name)["spec"] == source["spec"]


def test_in_a_browser_a_helm_managed_model_is_warned(
        console: fleet.Fleet, fleet_kmm: str, fleet_admin: kube.Caller, made: list[str],
        page: Page) -> None:
    body = fleet_model(unique("mistral-7b-instruct"), console, minReplicas=0)
    body["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "Helm"}
    body["metadata"]["annotations"].update({"meta.helm.sh/release-name": "models",
                                            "meta.helm.sh/release-namespace": NS})
    name = create(fleet_admin, made, body)
    page.goto(f"{fleet_kmm}/models/{NS}/{name}/")
    expect(page.get_by_test_id("managed-elsewhere")).to_contain_text(
        f"belongs to Helm release models in {NS}")
    page.goto(f"{fleet_kmm}/models/{NS}/{name}/change/")
    banner = page.get_by_test_id("managed-elsewhere")
    expect(banner).to_contain_text("reverted by its next sync")
    expect(banner.get_by_role("link", name="Export it as clean YAML")).to_be_visible()


def test_in_a_browser_bulk_scale_to_zero_and_pin_with_pods_following(
        console: fleet.Fleet, fleet_kmm: str, fleet_admin: kube.Caller, made: list[str],
        page: Page) -> None:
    manual = [create(fleet_admin, made, fleet_model(
        unique(base), console, minReplicas=0, maxReplicas=3, replicas=1,
        autoscalingDisabled=True)) for base in ("gemma-2-9b-it", "phi-3.5-mini-instruct")]
    autoscaled = create(fleet_admin, made, fleet_model(
        unique("mistral-7b-instruct"), console, minReplicas=2, maxReplicas=3))
    for name in manual:
        settle(lambda name=name: len(ready_pods(fleet_admin, name)) == 1, f"{name}'s pod")
    settle(lambda: len(ready_pods(fleet_admin, autoscaled)) == 2, "two autoscaled pods")

    page.goto(f"{fleet_kmm}/?namespace={NS}")
    for name in manual:
        page.get_by_label(f"Select {name} in {NS}").check()
    page.get_by_role("button", name="Scale selected to zero").click()
    expect(page.locator(".toast")).to_contain_text("Scaled 2 models to zero")
    for name in manual:
        settle(lambda name=name: not live_pods(fleet_admin, name), f"{name}'s pod to go")
        expect(page.get_by_role("button", name=f"Wake {name}")).to_be_visible(timeout=WAIT_MS)
    assert len(ready_pods(fleet_admin, autoscaled)) == 2  # not selected, not touched
    page.get_by_role("button", name=f"Wake {manual[0]}").click()  # the row action
    settle(lambda: len(ready_pods(fleet_admin, manual[0])) == 1, "the woken model's pod")
    expect(page.get_by_role("button", name=f"Scale {manual[0]} to zero")).to_be_visible()

    page.goto(f"{fleet_kmm}/models/{NS}/{autoscaled}/")
    expect(page.locator(".autoscale-note")).to_contain_text("KubeAI's autoscaler sets the "
                                                            "replicas from the load")
    page.get_by_label("Pin min and max to").fill("1")
    page.get_by_role("button", name="Pin").click()
    expect(page.locator(".toast")).to_contain_text("min and max replicas pinned to 1")
    settle(lambda: len(live_pods(fleet_admin, autoscaled)) == 1, "KubeAI to remove a pod")
    expect(verdict(page)).to_have_text("Ready: 1 of 1 replica ready.", timeout=WAIT_MS)
    spec = kube.get_model(fleet_admin, NS, autoscaled)["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"], spec["replicas"]) == (1, 1, 1)


def test_in_a_browser_the_cache_loader_job_and_pvc_of_a_cached_model(
        console: fleet.Fleet, fleet_kmm: str, fleet_admin: kube.Caller, made: list[str],
        page: Page) -> None:
    name = create(fleet_admin, made, fleet_model(
        unique("llama-3.2-1b-instruct"), console, url="hf://meta-llama/Llama-3.2-1B-Instruct",
        cacheProfile=fleet.CACHE_PROFILE, minReplicas=0))
    page.goto(f"{fleet_kmm}/models/{NS}/{name}/")
    facts = page.locator(".why-panel dl.facts")
    expect(facts).to_contain_text(f"Job load-cache-{name}", timeout=WAIT_MS)
    pvc = f"PersistentVolumeClaim shared-model-cache-{fleet.CACHE_PROFILE}"
    expect(facts).to_contain_text(pvc)
    settle(lambda: ((kube.get_model(fleet_admin, NS, name).get("status") or {})
                    .get("cache") or {}).get("loaded") is True, "KubeAI's loader Job")
    # The panel follows: KubeAI removes the finished loader Job; the claim stays Bound.
    expect(facts.locator("div", has_text=f"Job load-cache-{name}")).to_contain_text(
        "done: the cache is loaded (KubeAI removed the finished Job)", timeout=WAIT_MS)
    expect(facts.locator("div", has_text=pvc)).to_contain_text("Bound")
    # Its clean export leaves out the finalizer KubeAI added (KubeAI adds it again).
    assert "kubeai.org/cache-eviction" in kube.get_model(fleet_admin, NS, name)[
        "metadata"]["finalizers"]
    exported = yaml.safe_load(page.request.get(
        f"{fleet_kmm}/console/models/{NS}/{name}/export/").text())
    assert "finalizers" not in exported["metadata"]
    assert exported["spec"]["cacheProfile"] == fleet.CACHE_PROFILE


def test_in_a_browser_image_pull_and_crash_loop_verdicts(
        console: fleet.Fleet, fleet_kmm: str, fleet_admin: kube.Caller, made: list[str],
        page: Page, screenshot: Any) -> None:
    pulling = create(fleet_admin, made, fleet_model(
        unique("qwen2.5-7b-instruct"), console, minReplicas=1, maxReplicas=1,
        env={FAULT_ENV: IMAGE_PULL}))
    crashing = create(fleet_admin, made, fleet_model(
        unique("gemma-2-2b-it"), console, minReplicas=1, maxReplicas=1,
        env={FAULT_ENV: CRASH_LOOP}))

    page.goto(f"{fleet_kmm}/models/{NS}/{pulling}/")
    expect(verdict(page)).to_contain_text(
        f"Cannot pull the image (pod model-{pulling}-", timeout=WAIT_MS)
    expect(verdict(page)).to_contain_text('ImagePullBackOff: Back-off pulling image '
                                          '"public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo')
    page.goto(f"{fleet_kmm}/models/{NS}/{crashing}/")
    expect(verdict(page)).to_contain_text(
        f"Crash loop (pod model-{crashing}-", timeout=WAIT_MS)
    expect(verdict(page)).to_contain_text("CrashLoopBackOff (Error, exit code 1;")
    expect(page.locator(".why-panel .pods")).to_contain_text("Running")
    screenshot("fleet-detail-crash-loop")

    page.goto(f"{fleet_kmm}/?namespace={NS}")
    for name, sentence in ((pulling, "Cannot pull the image"), (crashing, "Crash loop")):
        expect(page.locator(f"tr[data-model='{NS}/{name}'] [data-testid=badge]")
               ).to_have_attribute("title", re.compile(f"^{re.escape(sentence)}"))
