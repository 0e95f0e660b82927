"""Health probes, error pages and the basic pages against the real API server."""

from __future__ import annotations

import pytest
from django.test import Client

import kube
from tests.conftest import make_model

pytestmark = pytest.mark.cluster


def test_healthz_needs_no_cluster(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_readyz_is_green_when_the_api_server_answers(client: Client, control_plane) -> None:
    assert client.get("/readyz").status_code == 200


def test_the_list_shows_models(client: Client, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "listed"))
    response = client.get("/", {"namespace": namespace})
    assert response.status_code == 200
    assert b"listed" in response.content
    assert b"kmm-admin" in response.content  # the cluster context in the frame


def test_a_missing_model_is_a_404_page_not_a_trace(client: Client, namespace: str) -> None:
    response = client.get(f"/models/{namespace}/nope/")
    assert response.status_code == 404
    assert b"was not found" in response.content
    assert b"Traceback" not in response.content
