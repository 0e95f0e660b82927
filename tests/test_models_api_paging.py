"""Model lists of the REST API are paged as Kubernetes pages them (limit, continue)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

import kube
from kube.cache import ModelCache
from models_api.streaming import _chunks
from tests.conftest import make_model, wait_for_cache

pytestmark = pytest.mark.cluster


def test_pages_follow_each_other_without_gaps_or_repeats(client: Client, admin: kube.Caller,
                                                          cache: ModelCache,
                                                          namespace: str) -> None:
    names = ["a.1", "b", "c-3", "d", "llama-3.1-8b"]
    for name in names:
        kube.create_model(admin, make_model(namespace, name))
    wait_for_cache(admin, namespace)
    seen, token, pages = [], "", 0
    while True:
        response = client.get(f"/api/namespaces/{namespace}/models/",
                              {"limit": "2", **({"continue": token} if token else {})})
        assert response.status_code == 200
        body = response.json()
        seen += [m["metadata"]["name"] for m in body["items"]]
        pages += 1
        token = body["metadata"].get("continue", "")
        if not token:
            assert "remainingItemCount" not in body["metadata"]
            break
        assert body["metadata"]["remainingItemCount"] == len(names) - len(seen)
    assert (seen, pages) == (sorted(names), 3)


def test_the_all_namespaces_list_pages_too(client: Client, admin: kube.Caller,
                                           cache: ModelCache, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "only"))
    wait_for_cache(admin, namespace)
    first = client.get("/api/models/", {"limit": "1"}).json()
    assert len(first["items"]) == 1
    assert first["metadata"]["remainingItemCount"] >= 1
    rest = client.get("/api/models/", {"continue": first["metadata"]["continue"]}).json()
    everything = client.get("/api/models/").json()["items"]
    assert first["items"] + rest["items"] == everything


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "0"}, "limit"), ({"limit": "many"}, "limit"), ({"continue": "garbage"}, "continue"),
])
def test_bad_paging_parameters_are_a_400_naming_the_field(client: Client, cache: ModelCache,
                                                           params: dict[str, str],
                                                           field: str) -> None:
    response = client.get("/api/models/", params)
    assert response.status_code == 400
    assert field in response.content.decode()


def test_a_streamed_list_is_the_same_json() -> None:
    items = [{"metadata": {"name": f"m{i}", "annotations": {"text": "ü\n\"x\""}}}
             for i in range(250)]
    body = {"apiVersion": "kubeai.org/v1", "kind": "ModelList",
            "metadata": {"resourceVersion": "7"}, "items": items}
    assert json.loads(b"".join(_chunks(body))) == body
    assert json.loads(b"".join(_chunks({**body, "items": []}))) == {**body, "items": []}
