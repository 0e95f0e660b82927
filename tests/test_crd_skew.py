"""kmm against a cluster whose KubeAI CRD is newer or older than kmm's, end to end.

The session's control plane gets a variant of the CRD for the length of a test
(and kmm's own back afterwards): kmm reads it, watches it, says so in a banner,
and keeps what it does not know.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

import kube
from kube.crds import apply_crd, wait_established
from modelspec.crd import crd_manifest
from modelspec.schema import RESOURCE
from tests.conftest import eventually, make_model
from tests.test_installed_crd import newer_crd, older_crd
from tests.test_ui_views import form_data

pytestmark = pytest.mark.cluster


def _install(admin: kube.Caller, crd: dict[str, Any]) -> None:
    apply_crd(admin, crd)
    wait_established(admin, RESOURCE)
    version = crd["metadata"].get("labels", {}).get("app.kubernetes.io/version")

    def seen() -> bool:
        current = kube.installed_crd(kube.default_cluster().as_app(), RESOURCE, wait=5)
        labels = ((current or {}).get("metadata") or {}).get("labels") or {}
        spec = ((current or {}).get("spec") or {}).get("versions") or [{}]
        return labels.get("app.kubernetes.io/version") == version and \
            spec[0].get("schema") == crd["spec"]["versions"][0]["schema"]
    assert eventually(seen, 10), "kmm never saw the new CRD"


@pytest.fixture
def crd_variant(admin: kube.Caller) -> Iterator[Any]:
    def install(crd: dict[str, Any]) -> None:
        _install(admin, crd)
    yield install
    ours = copy.deepcopy(crd_manifest())
    ours["metadata"]["labels"] = {}
    _install(admin, ours)


class TestNewerKubeAI:
    def test_the_banner_names_the_version_and_what_kmm_does_not_know(
            self, client: Client, crd_variant: Any, namespace: str) -> None:
        crd_variant(newer_crd())
        page = client.get("/", {"namespace": namespace}).content.decode()
        assert "v0.23.0" in page
        assert "spec.schedulerHints" in page
        assert "SGLang" in page

    def test_a_form_save_keeps_fields_kmm_does_not_know(
            self, client: Client, admin: kube.Caller, crd_variant: Any, namespace: str) -> None:
        crd_variant(newer_crd())
        hints = {"zone": "eu-west-1a", "nested": {"weights": [1, 2, 3]}}
        kube.create_model(admin, make_model(namespace, "llama-3.1-8b", schedulerHints=hints,
                                            maxReplicas=1, minReplicas=0))
        url = f"/models/{namespace}/llama-3.1-8b/change/"
        data = form_data(client.get(url))
        data["maxReplicas"] = 3
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        stored = kube.get_model(admin, namespace, "llama-3.1-8b")
        assert stored["spec"]["maxReplicas"] == 3
        assert stored["spec"]["schedulerHints"] == hints

    def test_the_detail_page_shows_unknown_fields_read_only(
            self, client: Client, admin: kube.Caller, crd_variant: Any, namespace: str) -> None:
        crd_variant(newer_crd())
        kube.create_model(admin, make_model(namespace, "m", schedulerHints={"zone": "z1"}))
        page = client.get(f"/models/{namespace}/m/").content.decode()
        assert "Other fields (edit in YAML)" in page
        assert "schedulerHints" in page
        assert "zone: z1" in page

    def test_the_form_accepts_an_engine_the_cluster_allows(
            self, client: Client, admin: kube.Caller, crd_variant: Any, namespace: str) -> None:
        crd_variant(newer_crd())
        from tests.test_ui_views import new_model_data
        response = client.post("/add/", new_model_data(namespace, "sglang-model",
                                                       engine="SGLang"))
        assert response.status_code == 302, response.content.decode()[:2000]
        assert kube.get_model(admin, namespace, "sglang-model")["spec"]["engine"] == "SGLang"


class TestOlderKubeAI:
    def test_the_form_hides_fields_the_cluster_lacks(
            self, client: Client, crd_variant: Any, namespace: str) -> None:
        crd_variant(older_crd())
        response = client.get("/add/", {"namespace": namespace})
        assert "priorityClassName" not in response.context["form"].fields
        assert "spec.priorityClassName" in response.content.decode()  # the banner says so

    def test_deleting_an_env_from_row_keeps_the_next_sources_own_keys(
            self, client: Client, admin: kube.Caller, crd_variant: Any, namespace: str) -> None:
        crd = newer_crd()
        spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        spec["properties"]["envFrom"]["items"]["properties"]["weight"] = {"type": "integer"}
        crd_variant(crd)
        sources = [{"configMapRef": {"name": "first"}, "weight": 1},
                   {"secretRef": {"name": "second"}, "weight": 2}]
        kube.create_model(admin, make_model(namespace, "qwen2.5-7b", envFrom=sources))
        url = f"/models/{namespace}/qwen2.5-7b/change/"
        data = form_data(client.get(url))
        # The operator removes the first row; the browser posts the second one alone.
        data = {k: v for k, v in data.items() if not k.startswith("envFrom-")}
        data.update({"envFrom-TOTAL_FORMS": 1, "envFrom-INITIAL_FORMS": 0,
                     "envFrom-0-kind": "secretRef", "envFrom-0-name": "second",
                     "envFrom-0-origin": "1"})
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        assert kube.get_model(admin, namespace, "qwen2.5-7b")["spec"]["envFrom"] == [
            {"secretRef": {"name": "second"}, "weight": 2}]
