"""The operator console through Django's test client, against the real API server.

The pods, nodes, events and KubeAI config are real API objects written as KubeAI, the
scheduler and the kubelet would write them (tests/consolekit.py); the fleet tests
(tests/fleet/) run the same features with the real KubeAI controller.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from django.test import Client

import kube
from kube.cache import model_cache
from kube.scaling import get_scale
from kube.watches import fleet
from tests.conftest import eventually, make_model, set_status, wait_for_cache
from tests.consolekit import (
    caught_up,
    install_cluster_objects,
    model_pod,
    running_status,
    unschedulable_status,
    waiting_status,
    warning_event,
)

pytestmark = pytest.mark.cluster


@pytest.fixture
def nodes(admin: kube.Caller, cache: Any) -> int:
    return install_cluster_objects(admin)


def create(admin: kube.Caller, namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    model = kube.create_model(admin, make_model(namespace, name, **spec))
    wait_for_cache(admin, namespace)
    return model


def verdict(content: bytes) -> str:
    match = re.search(rb'data-testid="verdict">([^<]*)<', content)
    assert match, "no verdict on the page"
    return match.group(1).decode().replace("&#x27;", "'")


# --- 1. why not ready ------------------------------------------------------------------------

def test_it_explains_an_unschedulable_model(admin: kube.Caller, namespace: str,
                                            nodes: int) -> None:
    create(admin, namespace, "llama-3.1-70b", resourceProfile="nvidia-gpu-h100:2", replicas=1,
           minReplicas=1, maxReplicas=1)
    pod = model_pod(admin, namespace, "llama-3.1-70b", gpus=2, status=unschedulable_status(
        "0/4 nodes are available: 4 Insufficient nvidia.com/gpu."))
    warning_event(admin, namespace, pod, "FailedScheduling",
                  "0/4 nodes are available: 4 Insufficient nvidia.com/gpu.")
    caught_up(admin, namespace)
    page = Client().get(f"/models/{namespace}/llama-3.1-70b/")
    assert verdict(page.content) == (f"Waiting for a node with 2 nvidia.com/gpu: 0 of {nodes} "
                                     "nodes fit")
    text = page.content.decode()
    assert pod in text
    assert "Unschedulable: 0/4 nodes are available" in text
    assert "no node has 2 nvidia.com/gpu" in text  # the fit line
    assert "minReplicas is 1, but the nodes can hold only 0 replicas" in text


def test_it_says_a_healthy_model_is_ready(admin: kube.Caller, namespace: str, nodes: int) -> None:
    create(admin, namespace, "qwen2.5-0.5b", resourceProfile="cpu:2", replicas=1)
    model_pod(admin, namespace, "qwen2.5-0.5b", status=running_status(), node="kmm-cpu-1")
    set_status(namespace, "qwen2.5-0.5b", {"replicas": {"all": 1, "ready": 1}})
    wait_for_cache(admin, namespace)
    caught_up(admin, namespace)
    page = Client().get(f"/models/{namespace}/qwen2.5-0.5b/")
    assert verdict(page.content) == "Ready: 1 of 1 replica ready."
    assert "fits on 2 nodes" in page.content.decode()  # cpu: 2 cpu, 4Gi; the GPU nodes are tainted


@pytest.mark.parametrize(("status", "expected"), [
    (waiting_status("ImagePullBackOff", 'Back-off pulling image "vllm/vllm-openai:nope"'),
     "Cannot pull the image (pod {pod}): ImagePullBackOff: Back-off pulling image"),
    (waiting_status("CrashLoopBackOff", "back-off 5m0s restarting failed container", restarts=7),
     "Crash loop (pod {pod}): CrashLoopBackOff (Error, exit code 1; 7 restarts)"),
])
def test_it_names_image_pull_errors_and_crash_loops(admin: kube.Caller, namespace: str,
                                                    nodes: int, status: dict[str, Any],
                                                    expected: str) -> None:
    create(admin, namespace, "broken", resourceProfile="cpu:1", replicas=1)
    pod = model_pod(admin, namespace, "broken", status=status, node="kmm-cpu-2")
    caught_up(admin, namespace)
    page = Client().get(f"/models/{namespace}/broken/")
    assert verdict(page.content).startswith(expected.format(pod=pod))


def test_it_flags_a_profile_the_config_does_not_define(admin: kube.Caller, namespace: str,
                                                       nodes: int) -> None:
    create(admin, namespace, "typo", resourceProfile="gpu-typo:1", replicas=1)
    page = Client().get(f"/models/{namespace}/typo/")
    assert verdict(page.content) == ("Cannot run: resource profile 'gpu-typo' is not defined in "
                                     "KubeAI's config.")
    assert "KubeAI&#x27;s config defines cpu, nvidia-gpu-h100, nvidia-gpu-l4" in \
        page.content.decode()


def test_the_list_shows_a_warning_badge_with_the_verdict(admin: kube.Caller, namespace: str,
                                                        nodes: int) -> None:
    create(admin, namespace, "big", resourceProfile="nvidia-gpu-h100:2", replicas=1)
    create(admin, namespace, "idle", resourceProfile="cpu:1")
    model_pod(admin, namespace, "big", gpus=2, status=unschedulable_status("no gpus"))
    caught_up(admin, namespace)
    page = Client().get("/", {"namespace": namespace}).content.decode()
    row = page.split(f'data-model="{namespace}/big"')[1].split("</tr>")[0]
    assert 'data-testid="badge"' in row
    assert f'title="Waiting for a node with 2 nvidia.com/gpu: 0 of {nodes} nodes fit"' in row
    idle = page.split(f'data-model="{namespace}/idle"')[1].split("</tr>")[0]
    assert 'data-testid="badge"' not in idle


def test_the_panel_poll_answers_304_until_a_pod_changes(admin: kube.Caller, namespace: str,
                                                        nodes: int) -> None:
    create(admin, namespace, "m", resourceProfile="cpu:1", replicas=1)
    client = Client()
    url = f"/console/models/{namespace}/m/panel/"
    first = client.get(url, HTTP_HX_REQUEST="true")
    etag = first["ETag"]
    assert "Waiting for KubeAI to create the pods." in first.content.decode()
    assert client.get(url, HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=etag).status_code == 304
    model_pod(admin, namespace, "m", status=running_status(ready=False), node="kmm-cpu-1")
    caught_up(admin, namespace)
    changed = client.get(url, HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert "Starting: 1 of 1 pod running, not ready yet." in changed.content.decode()


# --- 2. scaling -------------------------------------------------------------------------------

def test_it_scales_through_the_scale_subresource(admin: kube.Caller, namespace: str,
                                                 nodes: int) -> None:
    create(admin, namespace, "llama-3.1-8b", replicas=2, minReplicas=0, maxReplicas=3,
           owner="team-a")
    client = Client()
    url = f"/console/models/{namespace}/llama-3.1-8b/scale/"
    for op, expected in (("down", 1), ("up", 2), ("zero", 0)):
        assert client.post(url, {"op": op}).status_code == 302
        assert kube.get_model(admin, namespace, "llama-3.1-8b")["spec"]["replicas"] == expected
    client.post(url, {"op": "wake", "replicas": "3"})
    model = kube.get_model(admin, namespace, "llama-3.1-8b")
    assert model["spec"]["replicas"] == 3
    assert model["spec"]["owner"] == "team-a"
    # The list's row action and the bulk action.
    client.post(url + "?op=zero", {"next": "/"})
    assert kube.get_model(admin, namespace, "llama-3.1-8b")["spec"]["replicas"] == 0
    create(admin, namespace, "other", replicas=2)
    client.post(url, {"op": "up"})
    response = client.post("/console/scale-selected-to-zero/", {
        "selected": [f"{namespace}/llama-3.1-8b", f"{namespace}/other"], "next": "/"})
    assert response.status_code == 302
    assert [kube.get_model(admin, namespace, n)["spec"]["replicas"]
            for n in ("llama-3.1-8b", "other")] == [0, 0]
    # The list shows the new count at once (the cache has seen the write).
    page = client.get("/", {"namespace": namespace}).content.decode()
    assert 'aria-label="Wake other"' in page


def test_a_model_without_spec_replicas_is_woken_too(admin: kube.Caller, namespace: str,
                                                    nodes: int) -> None:
    """The API server cannot read the scale of a Model without .spec.replicas (500), so
    the console sets the field with a patch of the Model instead."""
    create(admin, namespace, "unset", minReplicas=0, autoscalingDisabled=True)
    with pytest.raises(kube.Unavailable, match="does not exist"):
        get_scale(admin, namespace, "unset")
    response = Client().post(f"/console/models/{namespace}/unset/scale/", {"op": "wake"})
    assert response.status_code == 302
    assert kube.get_model(admin, namespace, "unset")["spec"]["replicas"] == 1
    assert get_scale(admin, namespace, "unset")["spec"]["replicas"] == 1


def test_autoscaling_gets_a_note_and_an_offer_to_pin(admin: kube.Caller, namespace: str,
                                                     nodes: int) -> None:
    create(admin, namespace, "auto", replicas=1, minReplicas=1, maxReplicas=4)
    client = Client()
    page = client.get(f"/models/{namespace}/auto/").content.decode()
    assert "KubeAI's autoscaler sets the replicas from the load" in page
    client.post(f"/console/models/{namespace}/auto/pin/", {"replicas": "2"})
    spec = kube.get_model(admin, namespace, "auto")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"], spec["replicas"]) == (2, 2, 2)
    create(admin, namespace, "manual", replicas=1, autoscalingDisabled=True)
    assert "autoscaler sets" not in client.get(f"/models/{namespace}/manual/").content.decode()


# --- 3. catalog and fit ------------------------------------------------------------------------

def test_the_catalog_shows_presets_with_fit_checks(nodes: int, namespace: str) -> None:
    page = Client().get("/console/catalog/", {"namespace": namespace}).content.decode()
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r'data-preset="([^"]+)">(.*?)</tr>', page, re.S)}
    assert "fits on 2 nodes" in rows["qwen2.5-0.5b-instruct-cpu"]
    assert "no node fits" in rows["llama-3.1-8b-instruct-l4"] or \
        "fits on 2 nodes" in rows["llama-3.1-8b-instruct-l4"]
    assert "no node has 2 nvidia.com/gpu" in rows["llama-3.1-70b-instruct-h100"]
    searched = Client().get("/console/catalog/", {"q": "rerank"}).content.decode()
    assert "bge-reranker-base-cpu" in searched
    assert "qwen2.5" not in searched


def test_deploy_opens_the_add_form_prefilled_and_creates(admin: kube.Caller, namespace: str,
                                                         nodes: int) -> None:
    client = Client()
    url = f"/console/catalog/qwen2.5-0.5b-instruct-cpu/deploy/?namespace={namespace}"
    form = client.get(url)
    initial = form.context["form"].initial
    assert (initial["name"], initial["namespace"], initial["resource_profile"],
            initial["resource_count"]) == ("qwen2.5-0.5b-instruct-cpu", namespace, "cpu", 2)
    assert form.context["form"].initial_rows("args") == [{"value": "--max-model-len=4096"}]
    data = {"name": "qwen2.5-0.5b-instruct-cpu", "namespace": namespace,
            "url": "hf://Qwen/Qwen2.5-0.5B-Instruct", "engine": "VLLM",
            "features": ["TextGeneration"], "resource_profile": "cpu", "resource_count": "2",
            "minReplicas": "0", "maxReplicas": "2",
            "args-TOTAL_FORMS": 1, "args-INITIAL_FORMS": 0, "args-0-value": "--max-model-len=4096",
            "env-TOTAL_FORMS": 1, "env-INITIAL_FORMS": 0, "env-0-name": "VLLM_CPU_KVCACHE_SPACE",
            "env-0-value": "2"}
    for prefix in ("envFrom", "adapters", "files", "labels", "annotations"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    assert client.post(url, data).status_code == 302
    made = kube.get_model(admin, namespace, "qwen2.5-0.5b-instruct-cpu")
    assert made["spec"]["resourceProfile"] == "cpu:2"
    assert made["spec"]["env"] == {"VLLM_CPU_KVCACHE_SPACE": "2"}


def test_the_form_offers_the_clusters_profiles_and_refuses_others(namespace: str,
                                                                  nodes: int) -> None:
    client = Client()
    form = client.get("/add/", {"namespace": namespace}).content.decode()
    assert '<option value="nvidia-gpu-l4">' in form
    assert '<option value="cpu">' in form
    response = client.post(f"/add/?namespace={namespace}", {
        "name": "typo", "namespace": namespace, "url": "hf://o/m", "engine": "VLLM",
        "features": ["TextGeneration"], "resource_profile": "gpu-typo", "resource_count": "1",
        **{f"{p}-{k}": 0 for p in ("args", "env", "envFrom", "adapters", "files", "labels",
                                   "annotations") for k in ("TOTAL_FORMS", "INITIAL_FORMS")}})
    assert response.status_code == 400
    assert response.context["form"].errors["resource_profile"] == [
        "Unknown resource profile “gpu-typo”: this cluster's KubeAI defines cpu, "
        "nvidia-gpu-h100, nvidia-gpu-l4."]
    typo = ("apiVersion: kubeai.org/v1\nkind: Model\nmetadata:\n  name: typo\n"
            f"  namespace: {namespace}\nspec:\n  url: hf://o/m\n  engine: VLLM\n"
            "  features: [TextGeneration]\n  resourceProfile: gpu-typo:1\n")
    yaml_tab = client.post(f"/add/?mode=yaml&namespace={namespace}", {"text": typo})
    assert yaml_tab.status_code == 400
    assert [(line, e.path, e.message) for line, e in yaml_tab.context["form"].problems] == [
        (10, "spec.resourceProfile", "Unknown resource profile “gpu-typo”: this cluster's "
                                     "KubeAI defines cpu, nvidia-gpu-h100, nvidia-gpu-l4.")]
    imported = client.post("/console/import/", {"text": typo, "preview": "1"})
    assert [i.action for i in imported.context["items"]] == ["invalid"]
    assert "Unknown resource profile “gpu-typo”" in imported.context["items"][0].errors[0]
    fit = client.get("/console/fit/", {"resource_profile": "nvidia-gpu-h100",
                                       "resource_count": "2"}).content.decode()
    assert "no node has 2 nvidia.com/gpu" in fit
    fit = client.get("/console/fit/", {"resource_profile": "nvidia-gpu-l4",
                                       "resource_count": "1"}).content.decode()
    assert "fits on 2 nodes" in fit


# --- 5. clone, export, import ----------------------------------------------------------------

def test_save_as_new_prefills_a_copy(admin: kube.Caller, namespace: str, nodes: int) -> None:
    create(admin, namespace, "llama-3.1-8b", args=["--max-model-len=8192"],
           env={"A": "1"}, resourceProfile="cpu:1")
    form = Client().get(f"/console/models/{namespace}/llama-3.1-8b/clone/").context["form"]
    assert form.initial["name"] == "llama-3.1-8b-copy"
    assert not form.is_edit
    assert form.initial_rows("env") == [{"name": "A", "value": "1"}]
    assert form.initial.get("resource_version") in (None, "")


def test_export_then_import_round_trips(admin: kube.Caller, namespace: str, nodes: int) -> None:
    create(admin, namespace, "a.one", args=["--x=1", "line one\nline two"],
           env={"K": "v"}, resourceProfile="cpu:1", minReplicas=0, maxReplicas=2)
    create(admin, namespace, "b.two", features=["TextEmbedding"], engine="Infinity")
    set_status(namespace, "a.one", {"replicas": {"all": 0, "ready": 0}})
    client = Client()
    exported = client.post("/console/export-selected/", {
        "selected": [f"{namespace}/a.one", f"{namespace}/b.two"]}).content.decode()
    documents = list(yaml.safe_load_all(exported))
    assert [d["metadata"]["name"] for d in documents] == ["a.one", "b.two"]
    for document in documents:
        assert "status" not in document
        assert not {"uid", "resourceVersion", "managedFields", "creationTimestamp"} & set(
            document["metadata"])
    originals = {d["metadata"]["name"]: kube.get_model(admin, namespace, d["metadata"]["name"])
                 for d in documents}
    for name in originals:
        kube.delete_model(admin, namespace, name)
    wait_for_cache(admin, namespace)
    # An invalid third document and an update of an existing model, in one file.
    create(admin, namespace, "c.three")
    changed = yaml.safe_dump({"apiVersion": "kubeai.org/v1", "kind": "Model",
                              "metadata": {"name": "c.three", "namespace": namespace},
                              "spec": {"url": "hf://org/other", "engine": "VLLM",
                                       "features": ["TextGeneration"]}})
    bad = yaml.safe_dump({"apiVersion": "kubeai.org/v1", "kind": "Model",
                          "metadata": {"name": "d", "namespace": namespace},
                          "spec": {"url": "hf://o/m", "engine": "VLLM", "features": [],
                                   "minReplicas": 3, "maxReplicas": 1}})
    text = exported + "---\n" + changed + "---\n" + bad
    preview = client.post("/console/import/", {"text": text, "preview": "1"})
    actions = [(i.name, i.action) for i in preview.context["items"]]
    assert actions == [("a.one", "create"), ("b.two", "create"), ("c.three", "update"),
                       ("d", "invalid")]
    assert any("minReplicas" in e for e in preview.context["items"][3].errors)
    assert kube.list_models(admin, namespace)[0]["metadata"]["name"] == "c.three"  # nothing yet
    applied = client.post("/console/import/", {"plan": preview.context["plan"], "apply": "1"})
    assert applied.status_code == 302
    for name, original in originals.items():
        assert kube.get_model(admin, namespace, name)["spec"] == original["spec"]
    assert kube.get_model(admin, namespace, "c.three")["spec"]["url"] == "hf://org/other"


def test_import_applies_the_form_conflict_rule(admin: kube.Caller, namespace: str,
                                               nodes: int) -> None:
    """As the form's save: a change elsewhere to another field is kept and the import
    applies; a change elsewhere to the same field is a conflict and nothing is written."""
    create(admin, namespace, "m")
    create(admin, namespace, "n")

    def document(name: str) -> str:
        return yaml.safe_dump({"apiVersion": "kubeai.org/v1", "kind": "Model",
                               "metadata": {"name": name, "namespace": namespace},
                               "spec": {"url": "hf://o/new", "engine": "VLLM",
                                        "features": ["TextGeneration"]}})

    client = Client()
    preview = client.post("/console/import/", {"text": document("m") + "---\n" + document("n"),
                                               "preview": "1"})
    kube.patch_model(admin, namespace, "m", {"spec": {"url": "hf://o/theirs"}})
    kube.patch_model(admin, namespace, "n", {"spec": {"owner": "someone-else"}})
    applied = client.post("/console/import/", {"plan": preview.context["plan"], "apply": "1"},
                          follow=True)
    assert "changed by someone else since the preview" in applied.content.decode()
    assert kube.get_model(admin, namespace, "m")["spec"]["url"] == "hf://o/theirs"
    spec = kube.get_model(admin, namespace, "n")["spec"]
    assert (spec["url"], spec["owner"]) == ("hf://o/new", "someone-else")


# --- 6. managed elsewhere -------------------------------------------------------------------

def test_a_helm_managed_model_is_flagged_on_detail_and_edit(admin: kube.Caller,
                                                            namespace: str, nodes: int) -> None:
    model = make_model(namespace, "charted")
    model["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "Helm"}
    model["metadata"]["annotations"] = {"meta.helm.sh/release-name": "models",
                                        "meta.helm.sh/release-namespace": namespace}
    kube.create_model(admin, model)
    wait_for_cache(admin, namespace)
    client = Client()
    for url in (f"/models/{namespace}/charted/", f"/models/{namespace}/charted/change/"):
        page = client.get(url).content.decode()
        assert f"belongs to Helm release models in {namespace}" in page
        assert f"/console/models/{namespace}/charted/export/" in page
    create(admin, namespace, "plain")
    assert "Managed elsewhere" not in client.get(f"/models/{namespace}/plain/").content.decode()


def test_caches_follow_deletions(admin: kube.Caller, namespace: str, nodes: int) -> None:
    create(admin, namespace, "gone", replicas=1)
    pod = model_pod(admin, namespace, "gone")
    caught_up(admin, namespace)
    kube.delete_model(admin, namespace, "gone")
    from kubernetes import client as k8s

    k8s.CoreV1Api(admin.api).delete_namespaced_pod(pod, namespace, grace_period_seconds=0)
    assert eventually(lambda: not fleet().pods.lookup(namespace, "gone"), 5)
    assert model_cache().wait_until(lambda s: s.get(namespace, "gone") is None, 5)
