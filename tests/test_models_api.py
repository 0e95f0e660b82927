"""The management REST API (/api/) against the real API server: every verb and error code."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIRequestFactory

import kube
from devcluster import controlplane
from kube.cache import ModelCache
from models_api import views
from modelspec.listing import ANNOTATION_PREFIX as P
from tests.catalog import catalog_models
from tests.conftest import make_model, set_status

pytestmark = pytest.mark.cluster

needs_users = pytest.mark.skipif(bool(os.environ.get("KMM_TEST_KUBECONFIG")),
                                 reason="needs the local control plane's static users")


def url(namespace: str, name: str | None = None) -> str:
    return f"/api/namespaces/{namespace}/models/" + (f"{name}/" if name else "")


def send(client: Client, method: str, path: str, body: Any,
         content_type: str = "application/json") -> Any:
    return client.generic(method, path, json.dumps(body), content_type=content_type)


def names(response: Any) -> list[str]:
    return [m["metadata"]["name"] for m in response.json()["items"]]


def as_user(caller: kube.Caller, view: Any, method: str, path: str, **kwargs: Any) -> Any:
    """Call a view as `caller`, as the middleware would after signing them in."""
    request = getattr(APIRequestFactory(), method)(path, format="json",
                                                   **({"data": kwargs.pop("data")}
                                                      if "data" in kwargs else {}))
    request.kube = caller
    return view.as_view()(request, **kwargs)


@pytest.fixture
def eve(cluster: kube.Cluster, control_plane: controlplane.ControlPlane) -> kube.Caller:
    """A real user with no RBAC rights at all."""
    return cluster.as_token(control_plane.tokens["eve"])


# --- reads ---------------------------------------------------------------------------------

def test_it_lists_namespaces(client: Client, cache: ModelCache, namespace: str) -> None:
    cache.wait_until(lambda s: namespace in s.namespaces, 2)
    response = client.get("/api/namespaces/")
    assert response.status_code == 200
    assert {"name": namespace} in response.json()["items"]


def test_it_lists_models_in_a_namespace(client: Client, admin: kube.Caller, namespace: str) -> None:
    send(client, "POST", url(namespace), make_model(namespace, "listed"))
    response = client.get(url(namespace))
    assert response.status_code == 200
    assert response.json()["kind"] == "ModelList"
    assert names(response) == ["listed"]


def test_it_lists_models_in_all_namespaces(client: Client, namespace: str) -> None:
    send(client, "POST", url(namespace), make_model(namespace, "everywhere"))
    response = client.get("/api/models/")
    assert ("everywhere", namespace) in {(m["metadata"]["name"], m["metadata"]["namespace"])
                                         for m in response.json()["items"]}


def test_it_filters_by_engine_and_feature(client: Client, namespace: str) -> None:
    send(client, "POST", url(namespace), make_model(namespace, "chat"))
    send(client, "POST", url(namespace), make_model(
        namespace, "embed", engine="Infinity", features=["TextEmbedding"]))
    assert names(client.get(url(namespace), {"engine": "Infinity"})) == ["embed"]
    assert names(client.get(url(namespace), {"feature": "TextGeneration"})) == ["chat"]


def test_it_refuses_an_unknown_filter_value_with_400(client: Client, namespace: str) -> None:
    response = client.get(url(namespace), {"engine": "Triton"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "engine"


def test_it_reads_a_model(client: Client, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "one"))
    response = client.get(url(namespace, "one"))
    assert response.status_code == 200
    assert response.json()["spec"]["url"] == "hf://org/model"


def test_it_answers_404_for_a_missing_model(client: Client, namespace: str) -> None:
    response = client.get(url(namespace, "nope"))
    assert response.status_code == 404
    assert "was not found" in response.json()["detail"]


def test_it_answers_404_for_a_name_kubernetes_cannot_hold(client: Client,
                                                          namespace: str) -> None:
    response = client.get(url(namespace, "..%2F.."))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_it_answers_json_404_for_unknown_paths(client: Client) -> None:
    response = client.get("/api/nothing-here/")
    assert response.status_code == 404
    assert "no API endpoint" in response.json()["detail"]


# --- writes --------------------------------------------------------------------------------

def test_it_creates_a_model(client: Client, admin: kube.Caller, namespace: str) -> None:
    response = send(client, "POST", url(namespace), make_model(namespace, "fresh"))
    assert response.status_code == 201
    assert response.json()["metadata"]["uid"]
    assert kube.get_model(admin, namespace, "fresh")["spec"]["engine"] == "VLLM"


def test_a_created_model_is_listed_at_once(client: Client, namespace: str) -> None:
    body = make_model(namespace, "at-once")
    del body["metadata"]["namespace"]  # taken from the URL
    send(client, "POST", url(namespace), body)
    assert names(client.get(url(namespace))) == ["at-once"]


def test_a_dry_run_create_stores_nothing(client: Client, admin: kube.Caller,
                                         namespace: str) -> None:
    response = send(client, "POST", url(namespace) + "?dryRun=true",
                    make_model(namespace, "dry"))
    assert response.status_code == 201
    with pytest.raises(kube.NotFound):
        kube.get_model(admin, namespace, "dry")


def test_it_refuses_a_bad_dry_run_value_with_400(client: Client, namespace: str) -> None:
    response = send(client, "POST", url(namespace) + "?dryRun=maybe",
                    make_model(namespace, "x"))
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "dryRun", "message": "Must be true or false."}]


def test_it_refuses_malformed_json_with_400(client: Client, namespace: str) -> None:
    response = client.post(url(namespace), "{not json", content_type="application/json")
    assert response.status_code == 400


def test_it_refuses_an_invalid_model_with_422_and_field_paths(client: Client,
                                                              namespace: str) -> None:
    body = make_model(namespace, "bad", minReplicas=3, maxReplicas=1, engine="OLlama",
                      adapters=[{"name": "Bad Name", "url": "hf://x/y"}])
    response = send(client, "POST", url(namespace), body)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"spec.minReplicas", "spec.adapters", "spec.adapters[0].name"} <= fields


def test_it_refuses_invalid_listing_annotations_with_422(client: Client, namespace: str) -> None:
    body = make_model(namespace, "priced")
    body["metadata"]["annotations"] = {P + "pricing-prompt": "free"}
    response = send(client, "POST", url(namespace), body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == f"metadata.annotations[{P}pricing-prompt]"


def test_it_refuses_a_body_for_another_namespace(client: Client, namespace: str) -> None:
    response = send(client, "POST", url(namespace), make_model("elsewhere", "x"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "metadata.namespace"


def test_it_answers_409_when_the_model_exists(client: Client, admin: kube.Caller,
                                              namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "taken"))
    response = send(client, "POST", url(namespace), make_model(namespace, "taken"))
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_it_replaces_a_model(client: Client, admin: kube.Caller, namespace: str) -> None:
    current = kube.create_model(admin, make_model(namespace, "swap"))
    current["spec"]["minReplicas"] = 2
    response = send(client, "PUT", url(namespace, "swap"), current)
    assert response.status_code == 200
    assert kube.get_model(admin, namespace, "swap")["spec"]["minReplicas"] == 2


def test_a_replace_needs_the_resource_version(client: Client, admin: kube.Caller,
                                              namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "norv"))
    response = send(client, "PUT", url(namespace, "norv"), make_model(namespace, "norv"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "metadata.resourceVersion"


def test_a_stale_replace_is_a_409_with_the_current_version(client: Client, admin: kube.Caller,
                                                           namespace: str) -> None:
    stale = kube.create_model(admin, make_model(namespace, "raced"))
    newer = kube.patch_model(admin, namespace, "raced", {"spec": {"minReplicas": 1}})
    response = send(client, "PUT", url(namespace, "raced"), stale)
    assert response.status_code == 409
    assert response.json()["currentResourceVersion"] == newer["metadata"]["resourceVersion"]


def test_the_api_server_has_the_last_word_with_422(client: Client, admin: kube.Caller,
                                                   namespace: str) -> None:
    current = kube.create_model(admin, make_model(namespace, "cached", cacheProfile="fast"))
    current["spec"]["cacheProfile"] = "slow"  # immutable: only the API server knows the old value
    response = send(client, "PUT", url(namespace, "cached"), current)
    assert response.status_code == 422
    assert "spec.cacheProfile" in {e["field"] for e in response.json()["errors"]}


def test_it_patches_a_model_with_a_merge_patch(client: Client, admin: kube.Caller,
                                               namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "patched", env={"A": "1"}))
    response = send(client, "PATCH", url(namespace, "patched"),
                    {"spec": {"env": {"A": None, "B": "2"}}}, "application/merge-patch+json")
    assert response.status_code == 200
    assert kube.get_model(admin, namespace, "patched")["spec"]["env"] == {"B": "2"}


def test_a_patch_is_checked_against_the_stored_model(client: Client, admin: kube.Caller,
                                                     namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "ranged", minReplicas=1, maxReplicas=2))
    response = send(client, "PATCH", url(namespace, "ranged"), {"spec": {"minReplicas": 5}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "spec.minReplicas"


def test_a_patch_with_a_stale_version_is_a_409(client: Client, admin: kube.Caller,
                                               namespace: str) -> None:
    stale = kube.create_model(admin, make_model(namespace, "moved"))
    kube.patch_model(admin, namespace, "moved", {"spec": {"minReplicas": 1}})
    response = send(client, "PATCH", url(namespace, "moved"), {
        "metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]},
        "spec": {"minReplicas": 2}})
    assert response.status_code == 409
    assert response.json()["currentResourceVersion"]


def test_a_dry_run_patch_changes_nothing(client: Client, admin: kube.Caller,
                                         namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "same"))
    response = send(client, "PATCH", url(namespace, "same") + "?dryRun=true",
                    {"spec": {"minReplicas": 3}})
    assert response.json()["spec"]["minReplicas"] == 3
    assert "minReplicas" not in kube.get_model(admin, namespace, "same")["spec"]


def test_it_deletes_a_model(client: Client, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "gone"))
    response = client.delete(url(namespace, "gone"))
    assert response.status_code == 204
    assert names(client.get(url(namespace))) == []


def test_a_delete_of_a_moved_model_is_a_409(client: Client, admin: kube.Caller,
                                            namespace: str) -> None:
    stale = kube.create_model(admin, make_model(namespace, "kept"))
    newer = kube.patch_model(admin, namespace, "kept", {"spec": {"minReplicas": 1}})
    response = client.delete(url(namespace, "kept") + "?resourceVersion="
                             + stale["metadata"]["resourceVersion"])
    assert response.status_code == 409
    assert response.json()["currentResourceVersion"] == newer["metadata"]["resourceVersion"]


def test_a_dry_run_delete_keeps_the_model(client: Client, admin: kube.Caller,
                                          namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "stays"))
    assert client.delete(url(namespace, "stays") + "?dryRun=true").status_code == 204
    assert kube.get_model(admin, namespace, "stays")


def test_it_answers_405_for_a_verb_it_does_not_offer(client: Client, namespace: str) -> None:
    assert client.delete(url(namespace)).status_code == 405


# --- identity ------------------------------------------------------------------------------

def test_it_answers_401_without_sign_in(client: Client, namespace: str) -> None:
    with override_settings(KMM_AUTH_MODE="token"):
        response = client.get(url(namespace))
    assert response.status_code == 401


@needs_users
def test_it_answers_403_when_rbac_forbids_a_write(eve: kube.Caller, namespace: str) -> None:
    response = as_user(eve, views.NamespaceModelList, "post", url(namespace),
                       data=make_model(namespace, "nope"), namespace=namespace)
    assert response.status_code == 403
    assert "may not create" in response.data["detail"]


@needs_users
def test_it_answers_403_when_rbac_forbids_a_list(eve: kube.Caller, cache: ModelCache,
                                                 namespace: str) -> None:
    response = as_user(eve, views.NamespaceModelList, "get", url(namespace), namespace=namespace)
    assert response.status_code == 403


@needs_users
def test_it_lists_only_namespaces_the_caller_may_list(eve: kube.Caller, admin: kube.Caller,
                                                      cache: ModelCache, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "private"))
    response = as_user(eve, views.AllModelList, "get", "/api/models/")
    assert response.status_code == 200
    assert response.data["items"] == []


@pytest.mark.skipif(bool(os.environ.get("KMM_TEST_KUBECONFIG")),
                    reason="starts and stops its own control plane")
def test_it_answers_503_while_the_api_server_is_down() -> None:
    plane = controlplane.start()
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig, read_timeout=5)
    try:
        plane.halt()
        response = as_user(cluster.as_app(), views.ModelDetail, "get", "/api/x",
                           namespace="default", name="m")
        assert response.status_code == 503
        assert "cannot be reached" in response.data["detail"]
    finally:
        cluster.close()
        plane.stop()


# --- schema --------------------------------------------------------------------------------

def test_it_serves_an_openapi_schema(client: Client,
                                     control_plane: controlplane.ControlPlane) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = response.json()["paths"]
    assert {"/api/models/", "/api/namespaces/{namespace}/models/{name}/"} <= set(paths)


def test_the_schema_describes_the_spec_from_modelspec(client: Client,
                                                      control_plane: controlplane.ControlPlane) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    spec = components["ModelSpec"]["properties"]
    assert components["EngineEnum"]["enum"] == ["OLlama", "VLLM", "FasterWhisper", "Infinity"]
    assert spec["files"]["maxItems"] == 10


def test_it_serves_swagger_ui_from_the_app(client: Client,
                                           control_plane: controlplane.ControlPlane) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"cdn" not in response.content.lower()


# --- a PATCH without resourceVersion: the three-way rule -----------------------------------

def patch_read_before(client: Client, stale: dict[str, Any], path: str, body: Any) -> Any:
    """PATCH while the view reads the model as it was before someone else's write, as when
    that write lands between the view's read and its patch (a real race, made
    deterministic; the objects are the API server's own)."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(kube, "get_model", lambda *args, **kwargs: stale)
        return send(client, "PATCH", path, body)


@pytest.mark.parametrize("meanwhile", ["status", "replicas"])
def test_an_unpinned_patch_is_applied_over_other_writes(client: Client, admin: kube.Caller,
                                                        namespace: str, meanwhile: str) -> None:
    stale = kube.create_model(admin, make_model(namespace, "busy"))
    if meanwhile == "status":
        set_status(namespace, "busy", {"replicas": {"all": 1, "ready": 1}})
    else:
        kube.patch_model(admin, namespace, "busy", {"spec": {"replicas": 2}})
    response = patch_read_before(client, stale, url(namespace, "busy"),
                                 {"spec": {"minReplicas": 1}})
    assert response.status_code == 200, response.json()
    stored = kube.get_model(admin, namespace, "busy")
    assert stored["spec"]["minReplicas"] == 1
    assert stored["spec"].get("replicas") == (2 if meanwhile == "replicas" else None)


def test_an_unpinned_patch_of_a_field_changed_meanwhile_is_a_409(
        client: Client, admin: kube.Caller, namespace: str) -> None:
    stale = kube.create_model(admin, make_model(namespace, "fought"))
    newer = kube.patch_model(admin, namespace, "fought", {"spec": {"minReplicas": 3}})
    response = patch_read_before(client, stale, url(namespace, "fought"),
                                 {"spec": {"minReplicas": 1}})
    assert response.status_code == 409
    assert response.json()["currentResourceVersion"] == newer["metadata"]["resourceVersion"]
    assert response.json()["errors"][0]["field"] == "spec.minReplicas"
    assert kube.get_model(admin, namespace, "fought")["spec"]["minReplicas"] == 3


# --- unchanged writes change no byte -------------------------------------------------------

def test_an_unchanged_put_of_every_catalog_model_changes_no_byte(client: Client,
                                                                 admin: kube.Caller,
                                                                 namespace: str) -> None:
    for body in catalog_models(namespace):
        body["metadata"]["annotations"] = {"example.com/note": "one\ntwo\n"}
        kube.create_model(admin, body)
        name = body["metadata"]["name"]
        set_status(namespace, name, {"replicas": {"all": 0, "ready": 0}})
        before = client.get(url(namespace, name)).json()
        response = send(client, "PUT", url(namespace, name), before)
        assert response.status_code == 200, response.json()
        assert json.dumps(kube.get_model(admin, namespace, name)) == json.dumps(before), name


# --- auth mode none: scripts are not CSRF cases ---------------------------------------------

def test_in_mode_none_a_script_writes_without_a_csrf_token(admin: kube.Caller,
                                                           namespace: str) -> None:
    script = Client(enforce_csrf_checks=True)  # like curl: no cookie, no Origin
    response = script.post(url(namespace), json.dumps(make_model(namespace, "scripted")),
                           content_type="application/json")
    assert response.status_code == 201, response.json()
    assert script.delete(url(namespace, "scripted")).status_code == 204


@pytest.mark.parametrize("header", [{"HTTP_ORIGIN": "https://evil.example"},
                                    {"HTTP_SEC_FETCH_SITE": "cross-site"}])
def test_in_mode_none_a_browser_write_still_needs_the_csrf_token(
        admin: kube.Caller, namespace: str, header: dict[str, str]) -> None:
    browser = Client(enforce_csrf_checks=True, **header)
    response = browser.post(url(namespace), json.dumps(make_model(namespace, "forged")),
                            content_type="application/json")
    assert response.status_code == 403
    assert "CSRF check failed" in response.json()["detail"]
    assert "bearer" not in response.json()["detail"]
    with pytest.raises(kube.NotFound):
        kube.get_model(admin, namespace, "forged")


def test_in_mode_none_the_browsers_own_pages_write_with_the_token(admin: kube.Caller,
                                                                  namespace: str) -> None:
    browser = Client(enforce_csrf_checks=True, HTTP_ORIGIN="http://testserver",
                     HTTP_SEC_FETCH_SITE="same-origin")
    browser.get("/")  # a page sets the csrftoken cookie
    token = browser.cookies["csrftoken"].value
    response = browser.post(url(namespace), json.dumps(make_model(namespace, "clicked")),
                            content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
