"""The service layer against the real local kube-apiserver."""

from __future__ import annotations

import copy
import socket

import pytest

import kube
from devcluster import controlplane
from tests.conftest import create_event, make_model, set_status

pytestmark = pytest.mark.cluster


def every_field_model(namespace: str) -> dict:
    """A model using every spec field, plus labels, annotations and a finalizer."""
    return {
        "metadata": {
            "name": "full",
            "namespace": namespace,
            "labels": {"team": "ml", "tier": "gold"},
            "annotations": {"example.com/note": "keep me", "openrouter.ai/name": "Full"},
            "finalizers": ["example.com/keep"],
        },
        "spec": {
            "url": "hf://org/full-model",
            "engine": "VLLM",
            "features": ["TextGeneration", "TextEmbedding"],
            "adapters": [{"name": "lora-a", "url": "hf://org/lora-a"}],
            "args": ["--max-model-len=4096", "--enable-prefix-caching"],
            "env": {"A": "1", "SECRET_LOOKING": "s3cr3t"},
            "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"},
                        {"secretRef": {"name": "sec", "optional": True}}],
            "resourceProfile": "nvidia-gpu-l4:2",
            "cacheProfile": "standard",
            "image": "vllm/vllm-openai:v0.10.2",
            "replicas": 1,
            "minReplicas": 0,
            "maxReplicas": 4,
            "autoscalingDisabled": False,
            "targetRequests": 50,
            "scaleDownDelaySeconds": 120,
            "owner": "ml-team",
            "loadBalancing": {"strategy": "PrefixHash",
                              "prefixHash": {"meanLoadFactor": 150, "replication": 128,
                                             "prefixCharLength": 64}},
            "files": [{"path": "/etc/a.json", "content": "{}"},
                      {"path": "/etc/b.txt", "content": "b"}],
            "priorityClassName": "high",
        },
    }


def test_it_creates_gets_lists_and_deletes(admin: kube.Caller, namespace: str) -> None:
    created = kube.create_model(admin, make_model(namespace, "crud"))
    assert created["metadata"]["resourceVersion"]
    # The API server applies the CRD defaults.
    assert created["spec"]["targetRequests"] == 100
    assert created["spec"]["scaleDownDelaySeconds"] == 30
    assert created["spec"]["loadBalancing"] == {
        "strategy": "LeastLoad",
        "prefixHash": {"meanLoadFactor": 125, "replication": 256, "prefixCharLength": 100}}

    fetched = kube.get_model(admin, namespace, "crud")
    assert fetched["metadata"]["uid"] == created["metadata"]["uid"]
    assert [m["metadata"]["name"] for m in kube.list_models(admin, namespace)] == ["crud"]

    kube.delete_model(admin, namespace, "crud")
    with pytest.raises(kube.NotFound):
        kube.get_model(admin, namespace, "crud")


def test_it_lists_one_namespace_or_all(admin: kube.Caller, namespace: str) -> None:
    other = f"{namespace}-b"
    kube.create_namespace(admin, other)
    kube.create_model(admin, make_model(namespace, "one"))
    kube.create_model(admin, make_model(other, "two"))

    assert [m["metadata"]["name"] for m in kube.list_models(admin, other)] == ["two"]
    everywhere = {(m["metadata"]["namespace"], m["metadata"]["name"])
                  for m in kube.list_models(admin)}
    assert {(namespace, "one"), (other, "two")} <= everywhere
    assert {namespace, other} <= set(kube.list_namespaces(admin))


def test_it_pages_through_long_lists(admin: kube.Caller, namespace: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kube.calls.LIST_PAGE_SIZE", 2)
    for index in range(5):
        kube.create_model(admin, make_model(namespace, f"page-{index}"))
    models, version = kube.list_models_with_version(admin, namespace)
    assert sorted(m["metadata"]["name"] for m in models) == [f"page-{i}" for i in range(5)]
    assert version


def test_it_refuses_a_duplicate_name(admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "dup"))
    with pytest.raises(kube.AlreadyExists) as caught:
        kube.create_model(admin, make_model(namespace, "dup"))
    assert caught.value.status == 409


def test_dry_run_create_persists_nothing(admin: kube.Caller, namespace: str) -> None:
    result = kube.create_model(admin, make_model(namespace, "dry"), dry_run=True)
    assert result["spec"]["targetRequests"] == 100
    with pytest.raises(kube.NotFound):
        kube.get_model(admin, namespace, "dry")


def test_dry_run_update_persists_nothing(admin: kube.Caller, namespace: str) -> None:
    base = kube.create_model(admin, make_model(namespace, "dryup"))
    desired = copy.deepcopy(base)
    desired["spec"]["targetRequests"] = 7
    preview = kube.update_model(admin, base, desired, dry_run=True)
    assert preview["spec"]["targetRequests"] == 7
    assert kube.get_model(admin, namespace, "dryup")["spec"]["targetRequests"] == 100


def test_a_stale_update_is_refused_with_the_current_version(admin: kube.Caller,
                                                            namespace: str) -> None:
    base = kube.create_model(admin, make_model(namespace, "stale"))
    someone_else = copy.deepcopy(base)
    someone_else["spec"]["owner"] = "someone-else"
    someone_else["spec"]["targetRequests"] = 6
    moved_on = kube.update_model(admin, base, someone_else)

    mine = copy.deepcopy(base)
    mine["spec"]["targetRequests"] = 5
    with pytest.raises(kube.Conflict) as caught:
        kube.update_model(admin, base, mine)

    assert caught.value.status == 409
    assert caught.value.fields == ["spec.targetRequests"]
    assert caught.value.current_resource_version == moved_on["metadata"]["resourceVersion"]
    assert caught.value.current is not None
    assert caught.value.current["spec"]["owner"] == "someone-else"
    assert kube.get_model(admin, namespace, "stale")["spec"]["targetRequests"] == 6


def test_an_update_over_other_changes_is_applied_to_the_current_version(
        admin: kube.Caller, namespace: str) -> None:
    base = kube.create_model(admin, make_model(namespace, "moved"))
    set_status(namespace, "moved", {"replicas": {"all": 1, "ready": 1}})
    kube.patch_model(admin, namespace, "moved", {"spec": {"replicas": 1}})

    applied = kube.apply_change(admin, base, {"spec": {"minReplicas": 1}})

    assert applied.rebased
    assert applied.moved_on == ["spec.replicas"]
    spec = kube.get_model(admin, namespace, "moved")["spec"]
    assert (spec["replicas"], spec["minReplicas"]) == (1, 1)
    assert applied.model["status"]["replicas"] == {"all": 1, "ready": 1}


def test_a_stale_replace_is_refused(admin: kube.Caller, namespace: str) -> None:
    base = kube.create_model(admin, make_model(namespace, "stale-put"))
    kube.patch_model(admin, namespace, "stale-put", {"spec": {"owner": "x"}})
    base["spec"]["owner"] = "y"
    with pytest.raises(kube.Conflict):
        kube.replace_model(admin, base)


def test_an_update_changes_only_what_the_caller_changed(admin: kube.Caller,
                                                        namespace: str) -> None:
    created = kube.create_model(admin, every_field_model(namespace))
    # Status comes from KubeAI's controller through the status subresource.
    set_status(namespace, "full", {"replicas": {"all": 2, "ready": 1}, "cache": {"loaded": True}})
    owner_ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "1234"}
    kube.patch_model(admin, namespace, "full", {"metadata": {"ownerReferences": [owner_ref]}})
    before = kube.get_model(admin, namespace, "full")

    desired = copy.deepcopy(before)
    desired["spec"]["targetRequests"] = 77
    after = kube.update_model(admin, before, desired)

    assert after["spec"].pop("targetRequests") == 77
    assert before["spec"].pop("targetRequests") == 50
    assert after["spec"] == before["spec"]
    assert after["status"] == before["status"] == {"replicas": {"all": 2, "ready": 1},
                                                   "cache": {"loaded": True}}
    for key in ("labels", "annotations", "finalizers", "ownerReferences", "uid",
                "creationTimestamp"):
        assert after["metadata"][key] == before["metadata"][key], key
    assert created["metadata"]["uid"] == after["metadata"]["uid"]
    # The finalizer keeps the object around; let the test namespace go cleanly.
    kube.patch_model(admin, namespace, "full", {"metadata": {"finalizers": None}})


def test_an_update_can_remove_a_field(admin: kube.Caller, namespace: str) -> None:
    base = kube.create_model(admin, make_model(namespace, "rm", owner="x", image="img:1"))
    desired = copy.deepcopy(base)
    del desired["spec"]["owner"]
    after = kube.update_model(admin, base, desired)
    assert "owner" not in after["spec"]
    assert after["spec"]["image"] == "img:1"


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"engine": "OLlama", "url": "ollama://x",
          "adapters": [{"name": "a", "url": "hf://o/a"}]},
         "spec.adapters", "adapters only supported with VLLM engine."),
        ({"minReplicas": 3, "maxReplicas": 1},
         "spec.minReplicas", "minReplicas should be less than or equal to maxReplicas."),
        ({"files": [{"path": "/a", "content": "1"}, {"path": "/a", "content": "2"}]},
         "spec.files", "All file paths must be unique."),
        ({"url": "gs://bucket/model"},
         "spec.url", 'urls of format "gs://..." only supported when using a cacheProfile'),
        ({"engine": "Other"}, "spec.engine", 'Unsupported value: "Other"'),
    ],
)
def test_api_server_rejections_arrive_as_field_errors(admin: kube.Caller, namespace: str,
                                                      spec: dict, field: str,
                                                      message: str) -> None:
    with pytest.raises(kube.Invalid) as caught:
        kube.create_model(admin, make_model(namespace, "bad", **spec))
    assert caught.value.status == 422
    assert any(e.path == field and message in e.message for e in caught.value.errors), \
        caught.value.errors


def test_a_long_name_is_refused_on_metadata_name(admin: kube.Caller, namespace: str) -> None:
    with pytest.raises(kube.Invalid) as caught:
        kube.create_model(admin, make_model(namespace, "n" * 41))
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("metadata.name", "name must not exceed 40 characters.")]


def test_immutable_fields_are_refused_on_update(admin: kube.Caller, namespace: str) -> None:
    base = kube.create_model(admin, make_model(namespace, "imm", cacheProfile="fast"))
    desired = copy.deepcopy(base)
    desired["spec"]["cacheProfile"] = "slow"
    desired["spec"]["url"] = "hf://org/other"
    with pytest.raises(kube.Invalid) as caught:
        kube.update_model(admin, base, desired)
    found = {(e.path, e.message) for e in caught.value.errors}
    assert ("spec.cacheProfile", "cacheProfile is immutable.") in found
    assert ("spec.url", "url is immutable when using cacheProfile.") in found


def test_a_user_without_rights_is_forbidden(cluster: kube.Cluster, admin: kube.Caller,
                                            namespace: str,
                                            control_plane: controlplane.ControlPlane) -> None:
    if "eve" not in control_plane.tokens:
        pytest.skip("static test users exist only on the project's own control plane")
    kube.create_model(admin, make_model(namespace, "guarded"))
    eve = cluster.as_token(control_plane.tokens["eve"])
    with pytest.raises(kube.Forbidden) as caught:
        kube.delete_model(eve, namespace, "guarded")
    assert caught.value.status == 403
    assert caught.value.verb == "delete"
    assert caught.value.resource == "models.kubeai.org"
    assert "eve" in caught.value.message
    assert kube.get_model(admin, namespace, "guarded")["metadata"]["name"] == "guarded"


def test_impersonation_carries_user_and_groups(cluster: kube.Cluster, namespace: str) -> None:
    who = kube.who_am_i(cluster.impersonating("alice", ["team-a", "team-b"]))
    assert who.user == "alice"
    assert {"team-a", "team-b", "system:authenticated"} <= set(who.groups)


def test_an_invalid_token_is_unauthorized(cluster: kube.Cluster) -> None:
    with pytest.raises(kube.Unauthorized) as caught:
        kube.list_models(cluster.as_token("not-a-real-token"))
    assert caught.value.status == 401


def test_model_events_are_listed_newest_first(admin: kube.Caller, namespace: str) -> None:
    model = kube.create_model(admin, make_model(namespace, "evented"))
    for index, reason in enumerate(["Scaled", "Loaded"]):
        create_event(model, reason, f"2026-01-01T00:00:0{index}Z")
    events = kube.list_model_events(admin, namespace, "evented")
    assert [e["reason"] for e in events] == ["Loaded", "Scaled"]
    assert kube.list_model_events(admin, namespace, "other-model") == []


def test_connections_use_tcp_keepalive(admin: kube.Caller) -> None:
    # A watch on a connection whose peer vanished must fail, not hang: the kernel
    # probes idle connections (client-go's timings: 30 s idle, 15 s apart, 9 probes).
    options = admin.api.rest_client.pool_manager.connection_pool_kw["socket_options"]
    assert (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1) in options
    assert (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 30) in options
