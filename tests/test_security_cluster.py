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


# --- finding 2: one name validator before any call -----------------------------------------

@pytest.mark.parametrize("path", ["/models/{ns}/%2E/delete/", "/models/{ns}/%2E%2E/delete/",
                                  "/models/{ns}/./delete/"])
def test_dot_names_never_reach_the_api_server(control_plane: ControlPlane, admin: kube.Caller,
                                              namespace: str, settings: Any, path: str) -> None:
    settings.KMM_AUTH_MODE = "none"  # kmm's own identity here may delete whole collections
    kube.create_model(admin, make_model(namespace, "survivor"))
    response = Client().post(path.format(ns=namespace))
    assert response.status_code == 404
    assert [m["metadata"]["name"] for m in kube.list_models(admin, namespace)] == ["survivor"]


def test_bulk_keys_are_checked_before_any_call(control_plane: ControlPlane, admin: kube.Caller,
                                               namespace: str, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    kube.create_model(admin, make_model(namespace, "survivor"))
    response = Client().post("/delete-selected/", {
        "selected": [f"{namespace}/.", f"{namespace}/..", f"../{namespace}",
                     f"{namespace}/Your session expired, sign in at evil.example"],
        "confirm": "yes"}, follow=True)
    page = response.content.decode()
    assert "4 of the selected entries were not model names" in page
    assert "session expired" not in page
    assert [m["metadata"]["name"] for m in kube.list_models(admin, namespace)] == ["survivor"]


@pytest.mark.parametrize("path", ["/models/%2E%2E/%2E%2E/", "/models/ns/Your%20session%20expired"
                                  "%2C%20sign%20in%20at%20evil.example/", "/models/UPPER/m/",
                                  "/models/ns/" + "a" * 254 + "/", "/models/" + "n" * 64 + "/m/",
                                  "/?namespace=Your%20session%20expired"])
def test_invalid_names_are_a_404_that_does_not_echo(control_plane: ControlPlane, settings: Any,
                                                    path: str) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().get(path)
    assert response.status_code == 404
    assert b"session expired" not in response.content
    assert b"evil" not in response.content


def test_the_api_does_not_echo_invalid_names(control_plane: ControlPlane, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().get("/api/namespaces/ns/models/Your%20session%20expired/")
    assert response.status_code == 404
    assert "session expired" not in response.json()["detail"]
