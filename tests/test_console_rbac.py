"""The console under real RBAC: scale needs models/scale, the test prompt needs update,
and pods are shown only to those who may list them.

alice may edit models in ns-a (not models/scale, not pods); bob may view models
everywhere; admin may do everything (tests/rbac.py).
"""

from __future__ import annotations

from typing import Any

import pytest

import kube
from devcluster.controlplane import ControlPlane
from tests.conftest import make_model, set_status, wait_for_cache
from tests.consolekit import (
    caught_up,
    install_cluster_objects,
    model_pod,
    running_status,
    unschedulable_status,
)
from tests.rbac import Tenancy, attempt_forbidden, setup_tenancy
from tests.test_auth_ui import client_for

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def tenancy(control_plane: ControlPlane) -> Tenancy:
    admin = kube.default_cluster().as_app()
    install_cluster_objects(admin)
    tenancy = setup_tenancy(admin)
    kube.patch_model(admin, tenancy.ns_a, "resident", {"spec": {"replicas": 1}})
    set_status(tenancy.ns_a, "resident", {"replicas": {"all": 1, "ready": 0}})
    model_pod(admin, tenancy.ns_a, "resident", status=running_status(ready=False),
              node="kmm-cpu-1")
    wait_for_cache(admin, tenancy.ns_a)
    caught_up(admin, tenancy.ns_a)
    return tenancy


@pytest.fixture
def token_mode(settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"


def detail(user: str, plane: ControlPlane, namespace: str, name: str = "resident") -> str:
    page = client_for(user, "token", plane).get(f"/models/{namespace}/{name}/")
    assert page.status_code == 200
    return page.content.decode()


def test_without_models_scale_there_are_no_scale_buttons_and_the_server_refuses(
        control_plane: ControlPlane, tenancy: Tenancy, admin: kube.Caller,
        token_mode: None) -> None:
    # alice may patch models in ns-a, but models/scale is another resource.
    assert "Scale to zero" not in detail("alice", control_plane, tenancy.ns_a)
    assert "Scale to zero" in detail("admin", control_plane, tenancy.ns_a)
    listed = client_for("alice", "token", control_plane).get("/", {"namespace": tenancy.ns_a})
    assert 'aria-label="Scale resident to zero"' not in listed.content.decode()
    for user, namespace in (("alice", tenancy.ns_a), ("bob", tenancy.ns_b)):
        client = client_for(user, "token", control_plane)

        def scale(client: Any = client, namespace: str = namespace) -> Any:
            return client.post(f"/console/models/{namespace}/resident/scale/", {"op": "zero"})

        def bulk(client: Any = client, namespace: str = namespace) -> Any:
            return client.post("/console/scale-selected-to-zero/",
                               {"selected": [f"{namespace}/resident"]}, follow=True)

        attempt_forbidden(f"{user}: scale without models/scale", admin, tenancy, scale,
                          lambda r: r.status_code == 403)
        attempt_forbidden(f"{user}: bulk scale without models/scale", admin, tenancy, bulk,
                          lambda r: "was not scaled: Forbidden" in r.content.decode())


def test_without_update_there_is_no_test_prompt_and_the_server_refuses(
        control_plane: ControlPlane, tenancy: Tenancy, admin: kube.Caller,
        token_mode: None) -> None:
    assert "Test prompt" not in detail("bob", control_plane, tenancy.ns_a)
    assert "Test prompt" in detail("alice", control_plane, tenancy.ns_a)
    bob = client_for("bob", "token", control_plane)
    attempt_forbidden("bob: test prompt without update", admin, tenancy,
                      lambda: bob.post(f"/console/models/{tenancy.ns_a}/resident/prompt/",
                                       {"prompt": "Hello"}),
                      lambda r: r.status_code == 403)


def test_who_may_not_list_pods_is_told_so(control_plane: ControlPlane, tenancy: Tenancy,
                                          token_mode: None) -> None:
    alice = detail("alice", control_plane, tenancy.ns_a)
    assert f"You are not allowed to list pods in {tenancy.ns_a}" in alice
    assert "model-resident-" not in alice  # the pod's name
    admin = detail("admin", control_plane, tenancy.ns_a)
    assert "model-resident-" in admin
    assert "not allowed to list pods" not in admin


def test_who_may_not_list_nodes_gets_an_unknown_fit(control_plane: ControlPlane,
                                                    tenancy: Tenancy, token_mode: None) -> None:
    alice = client_for("alice", "token", control_plane)
    fit = alice.get("/console/fit/", {"resource_profile": "cpu", "resource_count": "1"})
    assert "unknown: you may not list nodes" in fit.content.decode()
    catalog = alice.get("/console/catalog/", {"namespace": tenancy.ns_a}).content.decode()
    assert "unknown: you may not list nodes" in catalog


def test_the_panel_refuses_who_may_not_read_the_model(control_plane: ControlPlane,
                                                      tenancy: Tenancy,
                                                      token_mode: None) -> None:
    eve = client_for("eve", "token", control_plane)
    response = eve.get(f"/console/models/{tenancy.ns_a}/resident/panel/",
                       HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert b"Waiting" not in response.content


def test_the_lists_reason_shows_only_to_who_may_list_pods(control_plane: ControlPlane,
                                                           tenancy: Tenancy, admin: kube.Caller,
                                                           token_mode: None) -> None:
    kube.create_model(admin, make_model(tenancy.ns_a, "llama-3.1-8b", minReplicas=1))
    try:
        set_status(tenancy.ns_a, "llama-3.1-8b", {"replicas": {"all": 1, "ready": 0}})
        model_pod(admin, tenancy.ns_a, "llama-3.1-8b", status=unschedulable_status(
            "0/4 nodes are available: 4 Insufficient memory."))
        wait_for_cache(admin, tenancy.ns_a)
        caught_up(admin, tenancy.ns_a)
        for user, shown in (("admin", True), ("alice", False)):
            listed = client_for(user, "token", control_plane).get("/", {"namespace": tenancy.ns_a})
            row = next(r for r in listed.context["cl"].rows if r.name == "llama-3.1-8b")
            assert row.state == "not-ready"
            assert ("4 Insufficient memory." in listed.content.decode()) is shown, user
            page = detail(user, control_plane, tenancy.ns_a, "llama-3.1-8b")
            assert ('class="state-reason">Unschedulable: 0/4 nodes' in page) is shown, user
    finally:
        kube.delete_model(admin, tenancy.ns_a, "llama-3.1-8b")
        wait_for_cache(admin, tenancy.ns_a)
