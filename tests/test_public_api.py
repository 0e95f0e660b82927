"""GET /public/api/models against the real API server, through the watch cache."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import pytest
from django.test import Client, override_settings

import kube
from kube.cache import ModelCache
from modelspec.listing import ANNOTATION_PREFIX as P
from modelspec.listing import PUBLISH_ANNOTATION
from tests.conftest import make_model, set_status

pytestmark = pytest.mark.cluster

URL = "/public/api/models"
SECRET = "s3cr3t-" + uuid.uuid4().hex


@pytest.fixture(autouse=True)
def _unthrottled():  # type: ignore[no-untyped-def]
    with override_settings(KMM_PUBLIC_RATE="off"):
        yield


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(admin: kube.Caller, cache: ModelCache, namespace: str, name: str,
           annotations: dict[str, str] | None = None, publish: bool = True,
           **spec: Any) -> dict[str, Any]:
    model = make_model(namespace, name, **spec)
    model["metadata"]["annotations"] = dict(annotations or {})
    if publish:
        model["metadata"]["annotations"][PUBLISH_ANNOTATION] = "true"
    created = kube.create_model(admin, model)
    version = created["metadata"]["resourceVersion"]
    assert cache.wait_until(lambda s: (s.get(namespace, name) or {}).get("metadata", {}).get(
        "resourceVersion") == version, 2)
    return created


def entries(client: Client, **params: str) -> dict[str, dict[str, Any]]:
    response = client.get(URL, params, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    return {e["id"]: e for e in response.json()["data"]}


ENGINES = [
    ("VLLM", "hf://org/llm", ["TextGeneration"], ["text"], ["text"]),
    ("OLlama", "ollama://gemma2:2b", ["TextGeneration"], ["text"], ["text"]),
    ("Infinity", "hf://BAAI/bge-small", ["TextEmbedding"], ["text"], ["embeddings"]),
    ("Infinity", "hf://BAAI/bge-reranker", ["Reranking"], ["text"], ["rerank"]),
    ("FasterWhisper", "hf://Systran/whisper", ["SpeechToText"], ["audio"], ["transcription"]),
]


@pytest.mark.parametrize(("engine", "url", "features", "inputs", "outputs"), ENGINES)
def test_it_lists_a_model_of_every_engine_and_feature(
        client: Client, admin: kube.Caller, cache: ModelCache, namespace: str, engine: str,
        url: str, features: list[str], inputs: list[str], outputs: list[str]) -> None:
    name = unique(engine.lower())
    create(admin, cache, namespace, name, engine=engine, url=url, features=features)
    entry = entries(client)[name]
    assert (entry["input_modalities"], entry["output_modalities"]) == (inputs, outputs)
    assert entry["hugging_face_id"] == (url[5:] if url.startswith("hf://") else "")


def test_it_lists_a_model_without_annotations_with_defaults(
        client: Client, admin: kube.Caller, cache: ModelCache, namespace: str) -> None:
    name = unique("plain")
    created = create(admin, cache, namespace, name)
    entry = entries(client)[name]
    assert entry["name"] == name
    assert entry["pricing"] == {"prompt": "0", "completion": "0"}
    assert entry["context_length"] is None
    assert entry["created"] > 1_700_000_000
    assert created["metadata"]["creationTimestamp"].startswith("20")


def test_it_lists_every_annotated_field(client: Client, admin: kube.Caller, cache: ModelCache,
                                        namespace: str) -> None:
    name = unique("rich")
    create(admin, cache, namespace, name, annotations={
        P + "display-name": "Rich model", P + "description": "Answers questions.",
        P + "context-length": "32768", P + "max-output-length": "4096",
        P + "quantization": "fp8", P + "pricing-prompt": "0.0000001",
        P + "pricing-completion": "0.0000002", P + "pricing-request": "0.01",
        P + "sampling-parameters": "temperature,top_p,seed", P + "features": "tools,json_mode",
        P + "deprecation-date": "2027-06-30", P + "slug": "acme/rich",
        P + "datacenters": "DE,FR"})
    entry = entries(client)[name]
    assert entry == {**entry, "name": "Rich model", "description": "Answers questions.",
                     "context_length": 32768, "max_output_length": 4096, "quantization": "fp8",
                     "pricing": {"prompt": "0.0000001", "completion": "0.0000002",
                                 "request": "0.01"},
                     "supported_sampling_parameters": ["temperature", "top_p", "seed"],
                     "supported_features": ["tools", "json_mode"],
                     "deprecation_date": "2027-06-30", "openrouter": {"slug": "acme/rich"},
                     "datacenters": [{"country_code": "DE"}, {"country_code": "FR"}]}


def test_it_lists_a_model_edited_elsewhere_without_its_bad_field(
        client: Client, admin: kube.Caller, cache: ModelCache, namespace: str) -> None:
    name = unique("bad")
    create(admin, cache, namespace, name, annotations={P + "context-length": "huge",
                                                       P + "quantization": "fp8"})
    entry = entries(client)[name]
    assert entry["context_length"] is None
    assert entry["quantization"] == "fp8"


def test_it_lists_adapters_as_their_own_entries(client: Client, admin: kube.Caller,
                                                cache: ModelCache, namespace: str) -> None:
    name = unique("base")
    create(admin, cache, namespace, name, adapters=[{"name": "sql", "url": "hf://org/sql"}])
    assert f"{name}_sql" in entries(client)


def test_it_reports_readiness(client: Client, admin: kube.Caller, cache: ModelCache,
                              namespace: str) -> None:
    name = unique("warm")
    create(admin, cache, namespace, name, minReplicas=1, maxReplicas=2)
    assert entries(client)[name]["is_ready"] is False
    set_status(namespace, name, {"replicas": {"all": 1, "ready": 1}})
    assert cache.wait_until(lambda s: ((s.get(namespace, name) or {}).get("status") or {}), 2)
    assert entries(client)[name]["is_ready"] is True


def test_it_never_leaks_secrets_config_or_undocumented_metadata(
        client: Client, admin: kube.Caller, cache: ModelCache, namespace: str) -> None:
    name = unique("leaky")
    create(admin, cache, namespace, name,
           annotations={"internal.example.com/token": SECRET + "-annotation"},
           env={"API_KEY": SECRET + "-env"}, args=[f"--api-key={SECRET}-args"],
           files=[{"path": "/etc/secret.txt", "content": SECRET + "-file"}],
           envFrom=[{"secretRef": {"name": SECRET[:20] + "-envfrom"}}],
           image="registry.example.com/secret-image:" + SECRET[:10],
           resourceProfile="nvidia-gpu-secret:1", cacheProfile="secret-cache",
           priorityClassName="secret-priority")
    kube.patch_model(admin, namespace, name, {"metadata": {"labels": {"team": SECRET[:30]}}})
    assert cache.wait_until(lambda s: "labels" in (s.get(namespace, name) or {}).get(
        "metadata", {}), 2)
    bodies = [client.get(URL, {"format": f}, HTTP_ACCEPT=accept).content
              for f in ("openrouter", "openai") for accept in ("application/json", "text/html")]
    for body in bodies:
        assert name.encode() in body
        for needle in (SECRET[:20], "secret-image", "secret-cache", "secret-priority",
                       "nvidia-gpu", "/etc/secret", "API_KEY", "internal.example.com"):
            assert needle.encode() not in body, needle


def test_it_answers_in_openai_format(client: Client, admin: kube.Caller, cache: ModelCache,
                                     namespace: str) -> None:
    name = unique("oai")
    create(admin, cache, namespace, name, owner="acme")
    body = client.get(URL, {"format": "openai"}, HTTP_ACCEPT="application/json").json()
    assert body["object"] == "list"
    entry = next(e for e in body["data"] if e["id"] == name)
    assert set(entry) == {"id", "object", "created", "owned_by"}
    assert (entry["object"], entry["owned_by"]) == ("model", "acme")


def test_it_refuses_an_unknown_format(client: Client, cache: ModelCache) -> None:
    response = client.get(URL, {"format": "yaml"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "Unknown format" in response.json()["errors"][0]["message"]


def test_it_answers_304_when_the_etag_matches(client: Client, admin: kube.Caller,
                                              cache: ModelCache, namespace: str) -> None:
    create(admin, cache, namespace, unique("tagged"))
    first = client.get(URL, HTTP_ACCEPT="application/json")
    again = client.get(URL, HTTP_ACCEPT="application/json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_it_changes_the_etag_when_the_listing_changes(client: Client, admin: kube.Caller,
                                                      cache: ModelCache, namespace: str) -> None:
    first = client.get(URL, HTTP_ACCEPT="application/json")
    create(admin, cache, namespace, unique("newer"))
    again = client.get(URL, HTTP_ACCEPT="application/json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]


def test_it_keeps_the_etag_when_an_unlisted_model_changes(
        client: Client, admin: kube.Caller, cache: ModelCache, namespace: str) -> None:
    first = client.get(URL, HTTP_ACCEPT="application/json")
    create(admin, cache, namespace, unique("hidden"), publish=False)
    again = client.get(URL, HTTP_ACCEPT="application/json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_it_sends_gzip_to_clients_that_accept_it(client: Client, admin: kube.Caller,
                                                 cache: ModelCache, namespace: str) -> None:
    name = unique("zipped")
    create(admin, cache, namespace, name)
    response = client.get(URL, HTTP_ACCEPT="application/json", HTTP_ACCEPT_ENCODING="gzip, br")
    assert response["Content-Encoding"] == "gzip"
    assert name in {e["id"] for e in json.loads(gzip.decompress(response.content))["data"]}


def test_it_sets_cache_control_cors_and_vary(client: Client, cache: ModelCache) -> None:
    response = client.get(URL, HTTP_ACCEPT="application/json", HTTP_ORIGIN="https://x.example")
    assert response["Cache-Control"] == "public, max-age=30"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response["Access-Control-Expose-Headers"]
    assert {"Accept", "Accept-Encoding"} <= {v.strip() for v in response["Vary"].split(",")}


def test_it_answers_a_cors_preflight(client: Client) -> None:
    response = client.options(URL, HTTP_ORIGIN="https://x.example",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert response["Access-Control-Allow-Origin"] == "*"


def test_it_shows_browsers_the_browsable_api(client: Client, admin: kube.Caller,
                                             cache: ModelCache, namespace: str) -> None:
    name = unique("browsed")
    create(admin, cache, namespace, name)
    response = client.get(URL, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response["Content-Type"].startswith("text/html")
    assert name.encode() in response.content


def test_it_needs_no_sign_in(client: Client, cache: ModelCache) -> None:
    with override_settings(KMM_AUTH_MODE="token"):
        assert client.get(URL, HTTP_ACCEPT="application/json").status_code == 200


def test_it_throttles_each_client_with_a_clear_429(client: Client, cache: ModelCache) -> None:
    address = f"127.0.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with override_settings(KMM_PUBLIC_RATE="3/min"):
        codes = [client.get(URL, HTTP_ACCEPT="application/json", REMOTE_ADDR=address).status_code
                 for _ in range(4)]
        refused = client.get(URL, HTTP_ACCEPT="application/json", REMOTE_ADDR=address)
        other = client.get(URL, HTTP_ACCEPT="application/json", REMOTE_ADDR="127.9.9.9")
    assert codes == [200, 200, 200, 429]
    assert "at most 3 requests per minute" in refused.json()["detail"]
    assert int(refused["Retry-After"]) >= 1
    assert other.status_code == 200


def test_a_forged_x_forwarded_for_does_not_dodge_the_throttle(client: Client,
                                                              cache: ModelCache) -> None:
    address = f"127.1.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with override_settings(KMM_PUBLIC_RATE="2/min"):
        codes = [client.get(URL, HTTP_ACCEPT="application/json", REMOTE_ADDR=address,
                            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(3)]
    assert codes == [200, 200, 429]


class TestPublicationModes:
    def test_it_publishes_only_opted_in_models_by_default(
            self, client: Client, admin: kube.Caller, cache: ModelCache, namespace: str) -> None:
        shown, hidden = unique("in"), unique("out")
        create(admin, cache, namespace, shown)
        create(admin, cache, namespace, hidden, publish=False)
        ids = entries(client)
        assert shown in ids
        assert hidden not in ids

    def test_it_publishes_everything_but_opted_out_models_in_all_mode(
            self, client: Client, admin: kube.Caller, cache: ModelCache, namespace: str) -> None:
        plain, opted_out = unique("plain"), unique("optout")
        create(admin, cache, namespace, plain, publish=False)
        create(admin, cache, namespace, opted_out, publish=False,
               annotations={PUBLISH_ANNOTATION: "false"})
        with override_settings(KMM_PUBLISH_MODE="all"):
            ids = entries(client)
        assert plain in ids
        assert opted_out not in ids

    def test_it_publishes_allow_listed_namespaces_in_namespaces_mode(
            self, client: Client, admin: kube.Caller, cache: ModelCache, namespace: str) -> None:
        other = unique("t-other")
        kube.create_namespace(admin, other)
        inside, outside = unique("inside"), unique("outside")
        create(admin, cache, namespace, inside, publish=False)
        create(admin, cache, other, outside, publish=False)
        with override_settings(KMM_PUBLISH_MODE="namespaces", KMM_PUBLISH_NAMESPACES=[namespace]):
            ids = entries(client)
        assert inside in ids
        assert outside not in ids


def test_the_oldest_model_keeps_a_name_published_twice(
        client: Client, admin: kube.Caller, cache: ModelCache, namespace: str) -> None:
    name, other = unique("twin"), unique("t-twin")
    kube.create_namespace(admin, other)
    create(admin, cache, namespace, name, annotations={P + "display-name": "first"})
    create(admin, cache, other, name, annotations={P + "display-name": "second"})
    assert entries(client)[name]["name"] == "first"
