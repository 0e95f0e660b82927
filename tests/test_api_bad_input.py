"""Bad input to the REST API: every answer is the documented JSON error, naming the field,
and nothing is stored. Against the real API server (it judges unknown spec fields by the
installed CRD, with strict field validation)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

import kube
from tests.conftest import make_model

pytestmark = pytest.mark.cluster

MB = 1024 * 1024
HUGE_URL = 500_000  # far past a URL's limit, within the body cap (kmm.limits)
NAME = "target"
ITEM = NAME + "/"


def model(namespace: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = make_model(namespace, "posted")
    for key, value in changes.items():
        if key.startswith("spec_"):
            body["spec"][key[5:]] = value
        else:
            body[key] = value
    return body


def with_version(version: Any):
    def body(namespace: str, current: dict[str, Any]) -> dict[str, Any]:
        stale = json.loads(json.dumps(current))
        stale["metadata"]["resourceVersion"] = version
        return stale
    return body


# (id, method, path under the model's URL or "" for the collection, body, content type,
#  status, field named in errors or None when the answer has no errors list)
CASES: list[tuple[str, str, str, Any, str, int, str | None]] = [
    ("spec-null", "POST", "", lambda ns, _: model(ns, spec=None), "json", 400, "spec"),
    ("spec-missing", "POST", "", lambda ns, _: {"metadata": {"name": "posted"}}, "json", 400,
     "spec"),
    ("spec-a-string", "POST", "", lambda ns, _: model(ns, spec="VLLM"), "json", 400, "spec"),
    ("metadata-null", "POST", "", lambda ns, _: model(ns, metadata=None), "json", 400,
     "metadata"),
    ("body-a-list", "POST", "", lambda ns, _: [model(ns)], "json", 400, ""),
    ("unknown-top-level-field", "POST", "", lambda ns, _: model(ns, extras={"a": 1}), "json",
     400, "extras"),
    ("unknown-spec-field", "POST", "", lambda ns, _: model(ns, spec_flavour="large"), "json",
     400, "spec.flavour"),
    ("url-of-500-KB", "POST", "", lambda ns, _: model(ns, spec_url="hf://org/" + "m" * HUGE_URL),
     "json", 422, "spec.url"),
    ("adapter-url-of-500-KB", "POST", "", lambda ns, _: model(
        ns, spec_adapters=[{"name": "a", "url": "hf://org/" + "a" * HUGE_URL}]), "json", 422,
     "spec.adapters[0].url"),
    ("invalid-json", "POST", "", lambda ns, _: b'{"metadata": {', "json", 400, ""),
    ("body-over-4-MB", "POST", "", lambda ns, _: model(ns, spec_args=["x" * (5 * MB)]),
     "json", 413, ""),
    ("not-json-at-all", "POST", "", lambda ns, _: b"name=posted", "form", 415, None),
    ("put-garbage-version", "PUT", ITEM, with_version("not-a-version"), "json", 409, None),
    ("put-numeric-version", "PUT", ITEM, with_version(12), "json", 400,
     "metadata.resourceVersion"),
    ("put-spec-null", "PUT", ITEM, lambda ns, cur: {**cur, "spec": None}, "json", 400, "spec"),
    ("patch-garbage-version", "PATCH", ITEM,
     lambda ns, _: {"metadata": {"resourceVersion": "12abc"}, "spec": {"minReplicas": 1}},
     "merge", 409, None),
    ("patch-numeric-version", "PATCH", ITEM,
     lambda ns, _: {"metadata": {"resourceVersion": 12}}, "merge", 400,
     "metadata.resourceVersion"),
    ("patch-spec-null", "PATCH", ITEM, lambda ns, _: {"spec": None}, "merge", 400, "spec"),
    ("patch-unknown-top-level-field", "PATCH", ITEM, lambda ns, _: {"extras": 1}, "merge", 400,
     "extras"),
    ("patch-unknown-spec-field", "PATCH", ITEM, lambda ns, _: {"spec": {"flavour": "large"}},
     "merge", 400, "spec.flavour"),
    ("patch-a-list", "PATCH", ITEM, lambda ns, _: [1], "merge", 400, ""),
    ("patch-url-of-500-KB", "PATCH", ITEM,
     lambda ns, _: {"spec": {"url": "hf://o/" + "u" * HUGE_URL}},
     "merge", 422, "spec.url"),
    ("delete-garbage-version", "DELETE", ITEM + "?resourceVersion=garbage", lambda ns, _: None,
     "json", 409, None),
]
CONTENT_TYPES = {"json": "application/json", "merge": "application/merge-patch+json",
                 "form": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(("method", "path", "body", "content_type", "status", "field"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_a_json_error_naming_the_field_and_stores_nothing(
        client: Client, admin: kube.Caller, namespace: str, method: str, path: str, body: Any,
        content_type: str, status: int, field: str | None) -> None:
    current = kube.create_model(admin, make_model(namespace, NAME, minReplicas=0))
    payload = body(namespace, current)
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = client.generic(method, f"/api/namespaces/{namespace}/models/{path}",
                              raw if payload is not None else b"",
                              content_type=CONTENT_TYPES[content_type])

    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    assert isinstance(answer["detail"], str)
    assert answer["detail"]
    if field is None:
        assert "errors" not in answer
    else:
        assert field in [e["field"] for e in answer["errors"]], answer
        assert all(e["message"] for e in answer["errors"])
    assert [m["metadata"]["name"] for m in kube.list_models(admin, namespace)] == [NAME]
    assert kube.get_model(admin, namespace, NAME) == current


def test_a_field_kmm_does_not_know_but_the_cluster_does_is_kept(
        client: Client, admin: kube.Caller, namespace: str) -> None:
    """kmm's serializer lists no finalizers; the body goes through whole and the API server,
    which knows the field, keeps it (as it keeps spec fields of a newer CRD)."""
    body = make_model(namespace, "kept")
    body["metadata"]["finalizers"] = ["example.com/keep"]
    response = client.post(f"/api/namespaces/{namespace}/models/", json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 201
    assert kube.get_model(admin, namespace, "kept")["metadata"]["finalizers"] == [
        "example.com/keep"]
    kube.patch_model(admin, namespace, "kept", {"metadata": {"finalizers": None}})
