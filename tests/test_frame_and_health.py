"""Health probes, error pages and the basic pages against the real API server."""

from __future__ import annotations

import json

import pytest
from django.test import Client

import kube
from tests.conftest import make_model, wait_for_cache

pytestmark = pytest.mark.cluster


def test_healthz_needs_no_cluster(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_readyz_is_green_when_the_api_server_answers(client: Client, control_plane) -> None:
    assert client.get("/readyz").status_code == 200


def test_the_list_shows_models(client: Client, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "listed"))
    wait_for_cache(admin, namespace)
    response = client.get("/", {"namespace": namespace})
    assert response.status_code == 200
    assert b"listed" in response.content
    assert b"kmm-admin" in response.content  # the cluster context in the frame


def test_a_kubernetes_error_is_a_page_not_a_trace(client: Client, control_plane,
                                                   namespace: str) -> None:
    response = client.get(f"/models/{namespace}/nope/yaml/", follow=True)
    assert response.status_code == 200
    assert b"does not exist" in response.content
    assert b"Traceback" not in response.content


@pytest.mark.parametrize(("error", "status", "title"), [
    (kube.Forbidden("Forbidden: you may not delete models.kubeai.org"), 403, b"Forbidden"),
    (kube.Unavailable("The Kubernetes API server cannot be reached"), 503,
     b"Kubernetes is unavailable"),
])
def test_service_errors_render_as_pages_with_their_status(rf, error: kube.KubeError, status: int,
                                                          title: bytes) -> None:
    from django.contrib.messages.storage.fallback import FallbackStorage

    from kmm.middleware import KubeCallerMiddleware

    request = rf.get("/models/ns/name/")
    request.session = {}
    request._messages = FallbackStorage(request)
    response = KubeCallerMiddleware(lambda r: None).process_exception(request, error)
    assert response is not None
    assert response.status_code == status
    assert title in response.content
    assert error.message.encode() in response.content


def test_api_paths_get_json_errors(rf) -> None:
    from kmm.middleware import KubeCallerMiddleware

    error = kube.NotFound("Model 'x' was not found.")
    response = KubeCallerMiddleware(lambda r: None).process_exception(rf.get("/api/x"), error)
    assert response.status_code == 404
    assert json.loads(response.content) == {"detail": "Model 'x' was not found."}
