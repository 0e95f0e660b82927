"""Issue 11's findings that need the real API server: each test failed before its fix."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

import kube
from devcluster.controlplane import ControlPlane
from tests.conftest import make_model
from tests.test_security import yaml_bomb

pytestmark = pytest.mark.cluster


# --- finding 1: bounded work for YAML and JSON bodies -------------------------------------

def test_deeply_nested_json_is_a_json_400(control_plane: ControlPlane, namespace: str,
                                          settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().post(f"/api/namespaces/{namespace}/models/", b"[" * 100_000,
                             content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "nests too deeply" in response.json()["detail"]


def test_an_oversized_json_body_is_a_json_413(control_plane: ControlPlane, namespace: str,
                                              settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    model = make_model(namespace, "big", args=["x" * 1000] * 1100)
    response = Client().post(f"/api/namespaces/{namespace}/models/", model,
                             content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request body is larger than")


def test_the_yaml_bomb_is_refused_by_the_add_form(control_plane: ControlPlane, admin: kube.Caller,
                                                  namespace: str, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().post("/add/?mode=yaml", {"text": yaml_bomb().replace("default", namespace)})
    assert response.status_code == 400
    assert "anchors and aliases" in response.content.decode()
    assert kube.list_models(admin, namespace) == []
