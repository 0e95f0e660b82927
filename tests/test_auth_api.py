"""Authentication and RBAC through the management REST API, against real RBAC."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

import kube
from devcluster.controlplane import ControlPlane
from tests.conftest import make_model
from tests.rbac import ADMINS_GROUP, Tenancy, attempt_forbidden, setup_tenancy

pytestmark = pytest.mark.cluster

PROXY = "127.0.0.1"


@pytest.fixture(scope="module")
def tenancy(control_plane: ControlPlane) -> Tenancy:
    return setup_tenancy(kube.default_cluster().as_app())


@pytest.fixture(params=["token", "proxy"])
def mode(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.KMM_AUTH_MODE = request.param
    settings.KMM_PROXY_TRUSTED_CIDRS = [f"{PROXY}/32"]
    return str(request.param)


def api_client(user: str, mode: str, plane: ControlPlane) -> Client:
    """A script calling the API as `user`: a bearer token, or through the proxy."""
    if mode == "proxy":
        # kmm never impersonates system:masters: the test admins' group is cluster-admin.
        groups = ADMINS_GROUP if user == "admin" else ""
        return Client(HTTP_X_FORWARDED_USER=user, HTTP_X_FORWARDED_GROUPS=groups,
                      REMOTE_ADDR=PROXY)
    return Client(HTTP_AUTHORIZATION=f"Bearer {plane.tokens[user]}")


def model_url(namespace: str, name: str = "resident") -> str:
    return f"/api/namespaces/{namespace}/models/{name}/"


FORBIDDEN_API = [
    ("alice", "create", "ns_b"), ("alice", "replace", "ns_b"), ("alice", "patch", "ns_b"),
    ("alice", "delete", "ns_b"), ("alice", "get", "ns_b"), ("alice", "list", "ns_b"),
    ("bob", "create", "ns_a"), ("bob", "replace", "ns_a"), ("bob", "patch", "ns_a"),
    ("bob", "delete", "ns_a"),
    ("eve", "create", "ns_a"), ("eve", "replace", "ns_a"), ("eve", "patch", "ns_a"),
    ("eve", "delete", "ns_a"), ("eve", "get", "ns_a"), ("eve", "list", "ns_a"),
]


@pytest.mark.parametrize(("user", "action", "where"), FORBIDDEN_API)
def test_forbidden_api_calls_are_refused_with_403_and_change_nothing(
        control_plane: ControlPlane, admin: kube.Caller, tenancy: Tenancy, mode: str,
        user: str, action: str, where: str) -> None:
    namespace = getattr(tenancy, where)
    client = api_client(user, mode, control_plane)
    current = kube.get_model(admin, namespace, "resident")
    replaced = {**current, "spec": {**current["spec"], "owner": "intruder"}}
    actions = {
        "create": lambda: client.post(f"/api/namespaces/{namespace}/models/",
                                      make_model(namespace, "intruder"),
                                      content_type="application/json"),
        "replace": lambda: client.put(model_url(namespace), replaced,
                                      content_type="application/json"),
        "patch": lambda: client.patch(model_url(namespace),
                                      json.dumps({"spec": {"owner": "intruder"}}),
                                      content_type="application/merge-patch+json"),
        "delete": lambda: client.delete(model_url(namespace)),
        "get": lambda: client.get(model_url(namespace)),
        "list": lambda: client.get(f"/api/namespaces/{namespace}/models/"),
    }
    attempt_forbidden(f"api/{mode}/{user}/{action}", admin, tenancy, actions[action],
                      lambda response: response.status_code == 403)


def test_the_all_namespaces_list_shows_only_what_each_user_may_list(
        control_plane: ControlPlane, tenancy: Tenancy, mode: str) -> None:
    def namespaces_seen(user: str) -> set[str]:
        body = api_client(user, mode, control_plane).get("/api/models/").json()
        return {m["metadata"]["namespace"] for m in body["items"]} & {tenancy.ns_a, tenancy.ns_b}

    assert namespaces_seen("alice") == {tenancy.ns_a}
    assert namespaces_seen("bob") == {tenancy.ns_a, tenancy.ns_b}
    assert namespaces_seen("eve") == set()


def test_alice_may_write_in_her_namespace(control_plane: ControlPlane, admin: kube.Caller,
                                          tenancy: Tenancy, mode: str) -> None:
    client = api_client("alice", mode, control_plane)
    name = f"api-{mode}"
    created = client.post(f"/api/namespaces/{tenancy.ns_a}/models/",
                          make_model(tenancy.ns_a, name), content_type="application/json")
    assert created.status_code == 201
    patched = client.patch(model_url(tenancy.ns_a, name), json.dumps({"spec": {"owner": "a"}}),
                           content_type="application/merge-patch+json")
    assert patched.status_code == 200
    assert client.delete(model_url(tenancy.ns_a, name)).status_code in (200, 204)
    with pytest.raises(kube.NotFound):
        kube.get_model(admin, tenancy.ns_a, name)


def test_no_credentials_is_401(control_plane: ControlPlane, admin: kube.Caller,
                               tenancy: Tenancy, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    attempt_forbidden("api/token/anonymous/delete", admin, tenancy,
                      lambda: Client().delete(model_url(tenancy.ns_a)),
                      lambda response: response.status_code == 401)


def test_an_invalid_bearer_token_is_401(control_plane: ControlPlane, admin: kube.Caller,
                                        tenancy: Tenancy, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    forger = Client(HTTP_AUTHORIZATION="Bearer made-up")
    attempt_forbidden("api/token/invalid-token/delete", admin, tenancy,
                      lambda: forger.delete(model_url(tenancy.ns_a)),
                      lambda response: response.status_code == 401)


def test_forged_proxy_headers_are_ignored_by_the_api(control_plane: ControlPlane,
                                                     admin: kube.Caller, tenancy: Tenancy,
                                                     settings: Any) -> None:
    settings.KMM_AUTH_MODE = "proxy"
    settings.KMM_PROXY_TRUSTED_CIDRS = [f"{PROXY}/32"]
    forger = Client(HTTP_X_FORWARDED_USER="admin", HTTP_X_FORWARDED_GROUPS="system:masters",
                    REMOTE_ADDR="10.9.8.7")
    attempt_forbidden("api/proxy/forged-headers/delete", admin, tenancy,
                      lambda: forger.delete(model_url(tenancy.ns_b)),
                      lambda response: response.status_code == 401)


def test_a_browser_session_needs_csrf_for_api_writes(control_plane: ControlPlane,
                                                     admin: kube.Caller, tenancy: Tenancy,
                                                     settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    browser = Client(enforce_csrf_checks=True)
    browser.get("/signin/")
    csrf = browser.cookies[settings.CSRF_COOKIE_NAME].value
    assert browser.post("/signin/", {"token": control_plane.tokens["alice"],
                                     "csrfmiddlewaretoken": csrf}).status_code == 302
    attempt_forbidden("api/token/alice/session-without-csrf/delete", admin, tenancy,
                      lambda: browser.delete(model_url(tenancy.ns_a)),
                      lambda response: response.status_code == 403
                      and "CSRF check failed" in response.json()["detail"])
    allowed = browser.get(model_url(tenancy.ns_a))
    assert allowed.status_code == 200  # reads need no CSRF token
