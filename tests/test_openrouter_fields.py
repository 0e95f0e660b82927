"""OpenRouter's newer listing fields and oci:// URLs through every write path, against the
real API server: the REST API, the YAML tab, and the public list."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client, override_settings

import kube
from modelspec.listing import ANNOTATION_PREFIX as P
from tests.conftest import make_model, wait_for_cache

pytestmark = pytest.mark.cluster

GOOD = {
    "is-free": "true",
    "discount-to-user": "-0.05",
    "capacity-tpm": "2500000",
    "deprecation-date": "2027-01-31T08:00:00Z",
    "hugging-face-id": "Qwen/Qwen2.5-7B-Instruct",
    "pricing-overrides": json.dumps([{"min_prompt_tokens": 32768, "prompt": "0.0000004"}]),
}
BAD = {
    "is-free": "sometimes",
    "discount-to-user": "1",
    "capacity-tpm": "lots",
    "deprecation-date": "2027-01-31T08:15:00Z",
    "hugging-face-id": "not a repo",
    "pricing-overrides": json.dumps([{"utc_start": "0800", "utc_end": "1800", "prompt": "1"},
                                     {"min_prompt_tokens": 1, "prompt": "1"}]),
}


def post(client: Client, namespace: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/namespaces/{namespace}/models/", json.dumps(body),
                       content_type="application/json")


@pytest.mark.parametrize("key", sorted(GOOD))
def test_the_rest_api_accepts_each_new_field(client: Client, namespace: str, key: str) -> None:
    body = make_model(namespace, "qwen2.5-7b")
    body["metadata"]["annotations"] = {P + key: GOOD[key]}
    response = post(client, namespace, body)
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("key", sorted(BAD))
def test_the_rest_api_refuses_a_bad_value_of_each(client: Client, namespace: str,
                                                  key: str) -> None:
    body = make_model(namespace, "qwen2.5-7b")
    body["metadata"]["annotations"] = {P + key: BAD[key]}
    response = post(client, namespace, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == f"metadata.annotations[{P}{key}]"


def test_the_yaml_tab_refuses_a_mistyped_listing_annotation(client: Client,
                                                            namespace: str) -> None:
    text = (f"apiVersion: kubeai.org/v1\nkind: Model\nmetadata:\n  name: typo\n"
            f"  namespace: {namespace}\n  annotations:\n    {P}contex-length: '8192'\n"
            "spec:\n  url: hf://org/m\n  engine: VLLM\n  features: [TextGeneration]\n")
    response = client.post("/add/?mode=yaml", {"text": text})
    assert response.status_code == 400
    assert "Unknown listing annotation" in response.content.decode()
    assert kube.list_models(kube.default_cluster().as_app(), namespace) == []


def test_an_oci_model_is_created_and_listed_without_a_hugging_face_id(
        client: Client, admin: kube.Caller, namespace: str) -> None:
    name = f"llama-oci-{uuid.uuid4().hex[:6]}"
    body = make_model(namespace, name, url="oci://registry.example.com/llama:3.1")
    body["metadata"]["annotations"] = {P + "publish": "true"}
    assert post(client, namespace, body).status_code == 201
    wait_for_cache(admin, namespace)
    with override_settings(KMM_PUBLIC_RATE="off", KMM_PUBLISH_MODE="annotation"):
        response = client.get("/public/api/models", HTTP_ACCEPT="application/json")
    entries = {e["id"]: e for e in response.json()["data"]}
    assert entries[name]["hugging_face_id"] == ""


def test_an_oci_model_with_a_cache_profile_is_refused(client: Client, namespace: str) -> None:
    body = make_model(namespace, "llama-oci", url="oci://registry.example.com/llama:3.1",
                      cacheProfile="standard")
    response = post(client, namespace, body)
    assert response.status_code == 422
    assert "spec.cacheProfile" in {e["field"] for e in response.json()["errors"]}


DIGEST_REFERENCE = "oci://registry.example.com/llama@sha256:" + "a" * 64


@pytest.mark.parametrize(("spec", "field", "message"), [
    ({"url": DIGEST_REFERENCE}, "spec.url", "should match"),
    ({"url": "oci://registry.example.com/llama:3.1", "cacheProfile": "standard"},
     "spec.cacheProfile", 'cacheProfile is only supported with urls of format "hf://...", '
                          '"s3://...", "gs://...", or "oss://..." at the moment.'),
])
def test_the_api_server_itself_holds_upstreams_oci_rules(admin: kube.Caller, namespace: str,
                                                         spec: dict[str, Any], field: str,
                                                         message: str) -> None:
    """Straight to the API server (kmm's CRD), past kmm's own checks."""
    with pytest.raises(kube.Invalid) as caught:
        kube.create_model(admin, make_model(namespace, "llama-oci", **spec))
    assert any(e.path == field and message in e.message for e in caught.value.errors), \
        caught.value.errors


def test_a_digest_pinned_oci_reference_is_refused_on_the_url(client: Client,
                                                           namespace: str) -> None:
    response = post(client, namespace, make_model(namespace, "llama-oci", url=DIGEST_REFERENCE))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"spec.url"}


def test_an_oci_model_may_name_any_engine(client: Client, admin: kube.Caller,
                                          namespace: str) -> None:
    body = make_model(namespace, "bge-oci", url="oci://ghcr.io/org/bge-small:1.5",
                      engine="Infinity", features=["TextEmbedding"])
    assert post(client, namespace, body).status_code == 201
    assert kube.get_model(admin, namespace, "bge-oci")["spec"]["engine"] == "Infinity"
