"""Authentication and RBAC through the UI, in token and proxy mode, against real RBAC."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

import kube
from devcluster.controlplane import ControlPlane
from kube import access as kube_access
from models_ui.editing import seal_original
from tests.conftest import kubectl, requests_served
from tests.rbac import ADMINS_GROUP, Tenancy, attempt_forbidden, setup_tenancy

pytestmark = pytest.mark.cluster

PROXY = "127.0.0.1"
UNTRUSTED = "10.9.8.7"  # only ever a REMOTE_ADDR value: no traffic leaves the test client


@pytest.fixture(scope="module")
def tenancy(control_plane: ControlPlane) -> Tenancy:
    return setup_tenancy(kube.default_cluster().as_app())


@pytest.fixture(params=["token", "proxy"])
def mode(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    settings.KMM_AUTH_MODE = request.param
    settings.KMM_PROXY_TRUSTED_CIDRS = [f"{PROXY}/32"]
    return request.param


def client_for(user: str, mode: str, plane: ControlPlane, **extra: Any) -> Client:
    """A browser signed in as `user`: with the sign-in page (token) or via the proxy."""
    if mode == "proxy":
        # The proxy vouches for the user and their groups, as the token file does.
        # kmm never impersonates system:masters: the test admins' group is cluster-admin.
        groups = ADMINS_GROUP if user == "admin" else ""
        return Client(HTTP_X_FORWARDED_USER=user, HTTP_X_FORWARDED_GROUPS=groups,
                      REMOTE_ADDR=PROXY, **extra)
    client = Client(**extra)
    response = client.post("/signin/", {"token": plane.tokens[user], "next": "/"})
    assert response.status_code == 302, f"{user} could not sign in"
    return client


def new_model_post(namespace: str, name: str = "intruder") -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "namespace": namespace, "url": "hf://o/m",
                            "engine": "VLLM", "features": ["TextGeneration"]}
    for prefix in ("args", "env", "envFrom", "adapters", "files", "labels", "annotations"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    return data


def change_post(admin: kube.Caller, namespace: str) -> dict[str, Any]:
    """A well-formed change of `resident` (as if the form had been reachable)."""
    model = kube.get_model(admin, namespace, "resident")
    data = new_model_post(namespace, "resident")
    data.update(original=seal_original(model), owner="intruder")
    return data


def is_403(response: Any) -> bool:
    return response.status_code == 403


# --- who may do what ----------------------------------------------------------------------

FORBIDDEN_UI = [
    # (user, action, namespace key)
    ("alice", "create", "ns_b"), ("alice", "change", "ns_b"), ("alice", "delete", "ns_b"),
    ("alice", "bulk-delete", "ns_b"), ("alice", "view", "ns_b"),
    ("bob", "create", "ns_a"), ("bob", "change", "ns_a"), ("bob", "delete", "ns_a"),
    ("bob", "bulk-delete", "ns_a"),
    ("eve", "create", "ns_a"), ("eve", "change", "ns_a"), ("eve", "delete", "ns_a"),
    ("eve", "bulk-delete", "ns_a"), ("eve", "view", "ns_a"), ("eve", "list", "ns_a"),
]


@pytest.mark.parametrize(("user", "action", "where"), FORBIDDEN_UI)
def test_forbidden_ui_actions_are_refused_and_change_nothing(
        control_plane: ControlPlane, admin: kube.Caller, tenancy: Tenancy, mode: str,
        user: str, action: str, where: str) -> None:
    namespace = getattr(tenancy, where)
    client = client_for(user, mode, control_plane)
    actions = {
        "create": lambda: client.post("/add/", new_model_post(namespace)),
        "change": lambda: client.post(f"/models/{namespace}/resident/change/",
                                      change_post(admin, namespace)),
        "delete": lambda: client.post(f"/models/{namespace}/resident/delete/"),
        "bulk-delete": lambda: client.post("/delete-selected/", {
            "selected": [f"{namespace}/resident"], "confirm": "yes"}, follow=True),
        "view": lambda: client.get(f"/models/{namespace}/resident/"),
        "list": lambda: client.get("/", {"namespace": namespace}),
    }
    refused = is_403
    if action == "bulk-delete":  # the bulk action reports each refusal as a message
        def refused(response: Any) -> bool:
            return "was not deleted: Forbidden" in response.content.decode()
    attempt_forbidden(f"ui/{mode}/{user}/{action}", admin, tenancy, actions[action], refused)


@pytest.mark.parametrize("user", ["alice", "admin"])
def test_allowed_ui_actions_work(control_plane: ControlPlane, admin: kube.Caller,
                                 tenancy: Tenancy, mode: str, user: str) -> None:
    client = client_for(user, mode, control_plane)
    name = f"{user}-{mode}"
    assert client.post("/add/", new_model_post(tenancy.ns_a, name)).status_code == 302
    data = change_post(admin, tenancy.ns_a)
    data["original"] = seal_original(kube.get_model(admin, tenancy.ns_a, "resident"))
    data["owner"] = name
    assert client.post(f"/models/{tenancy.ns_a}/resident/change/", data).status_code == 302
    assert client.post(f"/models/{tenancy.ns_a}/{name}/delete/").status_code == 302
    assert kube.get_model(admin, tenancy.ns_a, "resident")["spec"]["owner"] == name


def test_bob_may_view_everywhere(control_plane: ControlPlane, tenancy: Tenancy,
                                 mode: str) -> None:
    client = client_for("bob", mode, control_plane)
    response = client.get(f"/models/{tenancy.ns_b}/resident/")
    assert response.status_code == 200
    assert b">Edit</a>" not in response.content  # no rights, no button
    assert b"You may not list events" in response.content


def test_nobody_sees_models_they_cannot_list(control_plane: ControlPlane, tenancy: Tenancy,
                                             mode: str) -> None:
    alice = client_for("alice", mode, control_plane).get("/")
    ours = {tenancy.ns_a, tenancy.ns_b}
    namespaces = {row.namespace for row in alice.context["cl"].rows}
    assert namespaces & ours == {tenancy.ns_a}
    assert all(ns.startswith("ns-a-") for ns in namespaces)  # other tests' tenancies alike
    assert tenancy.ns_b not in alice.context["namespaces"]
    eve = client_for("eve", mode, control_plane).get("/")
    assert eve.context["cl"].rows == []


def test_rights_shape_the_change_list(control_plane: ControlPlane, tenancy: Tenancy,
                                      mode: str) -> None:
    bob = client_for("bob", mode, control_plane).get("/", {"namespace": tenancy.ns_a})
    assert bob.context["can_add"] is False
    assert b"Add model" not in bob.content
    alice = client_for("alice", mode, control_plane).get("/", {"namespace": tenancy.ns_a})
    assert alice.context["can_add"] is True
    assert b'aria-label="Edit resident"' in alice.content


# --- authentication -----------------------------------------------------------------------

def test_unauthenticated_visitors_are_sent_to_sign_in(control_plane: ControlPlane,
                                                      settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    response = Client().get("/?namespace=x")
    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=%2F%3Fnamespace%3Dx"


def test_a_wrong_token_is_refused_at_sign_in(control_plane: ControlPlane, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    response = Client().post("/signin/", {"token": "not-a-token"})
    assert response.status_code == 400
    assert "did not accept this token" in response.content.decode()


def test_the_token_stays_on_the_server_side(control_plane: ControlPlane, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    client = client_for("alice", "token", control_plane)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert control_plane.tokens["alice"] not in cookie.value
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    page = client.get("/")
    assert control_plane.tokens["alice"].encode() not in page.content
    assert b"alice" in page.content  # the identity in the header


def test_a_revoked_token_sends_the_user_back_to_sign_in(control_plane: ControlPlane,
                                                        tenancy: Tenancy,
                                                        settings: Any) -> None:
    """Access answers last until RBAC changes; deleting the token's ServiceAccount changes
    no RBAC, and yet the open page ends within TOKEN_LIVENESS_SECONDS (plus the few seconds
    the API server itself remembers a good token)."""
    settings.KMM_AUTH_MODE = "token"
    kubectl("create", "serviceaccount", "short-lived", "-n", tenancy.ns_a)
    token = kubectl("create", "token", "short-lived", "-n", tenancy.ns_a).strip()
    client = Client()
    assert client.post("/signin/", {"token": token}).status_code == 302
    assert client.get("/").status_code == 200
    kubectl("delete", "serviceaccount", "short-lived", "-n", tenancy.ns_a)
    deadline = time.monotonic() + kube_access.TOKEN_LIVENESS_SECONDS + 15
    while (response := client.get("/")).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.5)  # polling, as an open page does; nothing forgets the answers
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")


def test_a_token_users_open_page_costs_one_token_check_per_interval(
        control_plane: ControlPlane, tenancy: Tenancy, settings: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings.KMM_AUTH_MODE = "token"
    monkeypatch.setattr(kube_access, "TOKEN_LIVENESS_SECONDS", 1.0)
    client = client_for("bob", "token", control_plane)
    assert client.get("/").status_code == 200
    time.sleep(kube_access.RBAC_SETTLE_SECONDS + 0.1)
    assert client.get("/").status_code == 200  # answers asked while RBAC settled: again
    reviews, access_reviews = requests_served("selfsubjectreviews"), requests_served(
        "selfsubjectaccessreviews")
    started = time.monotonic()
    while time.monotonic() - started < 3.5:  # the page asks several answers each time
        assert client.get("/").status_code == 200
        time.sleep(0.25)
    assert requests_served("selfsubjectaccessreviews") == access_reviews
    assert requests_served("selfsubjectreviews") - reviews <= 4


def test_sign_out_forgets_the_session(control_plane: ControlPlane, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    client = client_for("bob", "token", control_plane)
    assert client.post("/signout/").status_code == 302
    assert client.get("/").status_code == 302


def test_sign_in_is_throttled(control_plane: ControlPlane, settings: Any) -> None:
    from django.core.cache import cache

    settings.KMM_AUTH_MODE = "token"
    cache.clear()
    client = Client(REMOTE_ADDR="127.0.0.9")
    for _ in range(10):
        client.post("/signin/", {"token": "wrong"})
    response = client.post("/signin/", {"token": control_plane.tokens["admin"]})
    assert response.status_code == 429
    cache.clear()


def test_forged_proxy_headers_from_an_untrusted_address_are_ignored(
        control_plane: ControlPlane, admin: kube.Caller, tenancy: Tenancy,
        settings: Any) -> None:
    settings.KMM_AUTH_MODE = "proxy"
    settings.KMM_PROXY_TRUSTED_CIDRS = [f"{PROXY}/32"]
    forger = Client(HTTP_X_FORWARDED_USER="admin", HTTP_X_FORWARDED_GROUPS="system:masters",
                    REMOTE_ADDR=UNTRUSTED)
    attempt_forbidden("ui/proxy/forged-headers/delete", admin, tenancy,
                      lambda: forger.post(f"/models/{tenancy.ns_b}/resident/delete/"),
                      lambda r: r.status_code == 401)
    assert forger.get("/").status_code == 401


def test_proxy_groups_are_impersonated(control_plane: ControlPlane, admin: kube.Caller,
                                       tenancy: Tenancy, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "proxy"
    settings.KMM_PROXY_TRUSTED_CIDRS = [f"{PROXY}/32"]
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "group-edits", "namespace": tenancy.ns_b},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "team-b-models"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                             "name": "team-b"}]}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "team-b-models"},
            "rules": [{"apiGroups": ["kubeai.org"], "resources": ["models"],
                       "verbs": ["create", "get", "list", "patch", "delete"]}]}
    kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                  "items": [role, binding]}))
    member = Client(HTTP_X_FORWARDED_USER="carol", HTTP_X_FORWARDED_GROUPS="team-b, other",
                    REMOTE_ADDR=PROXY)
    response = member.post("/add/", new_model_post(tenancy.ns_b, "by-group"))
    assert response.status_code == 302
    assert kube.get_model(admin, tenancy.ns_b, "by-group")
    kube.delete_model(admin, tenancy.ns_b, "by-group")


def test_a_post_without_a_csrf_token_is_refused(control_plane: ControlPlane, admin: kube.Caller,
                                                tenancy: Tenancy, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    client = Client(enforce_csrf_checks=True)
    client.get("/signin/")
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    signed_in = client.post("/signin/", {"token": control_plane.tokens["alice"],
                                         "csrfmiddlewaretoken": csrf})
    assert signed_in.status_code == 302
    attempt_forbidden("ui/token/alice/no-csrf-delete", admin, tenancy,
                      lambda: client.post(f"/models/{tenancy.ns_a}/resident/delete/"),
                      is_403)


def test_none_mode_shows_a_persistent_warning(control_plane: ControlPlane, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    assert b"Authentication is off" in Client().get("/").content


def test_pages_send_a_strict_content_security_policy(control_plane: ControlPlane,
                                                     settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_https_requests_get_hsts(control_plane: ControlPlane, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "none"
    response = Client().get("/healthz", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
