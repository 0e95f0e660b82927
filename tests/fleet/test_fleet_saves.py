"""Saving an edit form while KubeAI's real controller writes the same Model.

tests/test_ui_saves.py proves the three-way save with writes that imitate KubeAI; here
KubeAI itself writes: after a create it updates the whole Model (its feature label,
`spec.replicas`, `spec.owner: ""`), then the status subresource as its pods come up.
"""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

import kube
from devcluster import fleet
from tests.fleet.conftest import fleet_model, settle
from tests.test_ui_saves import TEMPLATE, browser_data, change_url, messages_of, without
from tests.test_ui_views import new_model_data

NS = fleet.NAMESPACE
FEATURE_LABEL = "features.kubeai.org/TextGeneration"  # what KubeAI's applySelfLabels adds


def ready_replicas(model: dict[str, Any]) -> int | None:
    replicas = (model.get("status") or {}).get("replicas") or {}
    return replicas.get("ready")


def stored(caller: kube.Caller, name: str) -> dict[str, Any]:
    return kube.get_model(caller, NS, name)


def test_an_edit_form_opened_before_kubeais_writes_saves_on_top_of_them(
        client: Client, fleet_admin: kube.Caller, running: fleet.Fleet, model_name: str) -> None:
    response = client.post("/add/", new_model_data(
        NS, model_name, resource_profile="cpu", resource_count="1", minReplicas="1",
        maxReplicas="3"))
    assert response.status_code == 302
    try:
        page = client.get(change_url(NS, model_name))
        opened = page.context["original"]
        # Opened before KubeAI's pod is ready: the status write that says so is still to come.
        assert ready_replicas(opened) != 1
        settle(lambda: ready_replicas(stored(fleet_admin, model_name)) == 1,
               "KubeAI to write the ready replica to status")
        now = stored(fleet_admin, model_name)
        assert now["metadata"]["resourceVersion"] != opened["metadata"]["resourceVersion"]

        data = browser_data(page)
        data["maxReplicas"] = "4"
        rows = int(data["labels-TOTAL_FORMS"])
        data.update({"labels-TOTAL_FORMS": rows + 1, f"labels-{rows}-key": "team",
                     f"labels-{rows}-value": "ml"})
        response = client.post(change_url(NS, model_name), data)

        assert response.status_code == 302, response.context and response.context["conflict"]
        notes = messages_of(response)
        assert any("changed elsewhere since you opened it" in m
                   and "your change was applied to that newer version" in m for m in notes), notes
        saved = stored(fleet_admin, model_name)
        assert saved["spec"]["maxReplicas"] == 4
        assert saved["metadata"]["labels"]["team"] == "ml"
        assert saved["metadata"]["labels"][FEATURE_LABEL] == "true"  # KubeAI's, kept
        assert saved["spec"]["replicas"] == 1  # KubeAI's, kept
        assert ready_replicas(saved) == 1  # KubeAI's status, kept
    finally:
        kube.delete_model(fleet_admin, NS, model_name)


def test_an_edit_of_a_field_someone_else_changed_meanwhile_gets_the_conflict_page(
        client: Client, fleet_admin: kube.Caller, running: fleet.Fleet, model_name: str) -> None:
    kube.create_model(fleet_admin, fleet_model(model_name, running, minReplicas=1,
                                               maxReplicas=3))
    try:
        page = client.get(change_url(NS, model_name))
        data = browser_data(page)
        kube.patch_model(fleet_admin, NS, model_name, {"spec": {"maxReplicas": 5}})
        settle(lambda: ready_replicas(stored(fleet_admin, model_name)) == 1,
               "KubeAI's status writes to land as well")
        data["maxReplicas"] = "4"
        response = client.post(change_url(NS, model_name), data)

        assert response.status_code == 409
        assert response.context["conflict"].fields == ["spec.maxReplicas"]
        assert "spec.maxReplicas" in response.content.decode()
        assert stored(fleet_admin, model_name)["spec"]["maxReplicas"] == 5
    finally:
        kube.delete_model(fleet_admin, NS, model_name)


def test_a_save_leaves_kubeais_owner_and_every_field_it_did_not_change_byte_identical(
        client: Client, fleet_admin: kube.Caller, running: fleet.Fleet, model_name: str) -> None:
    body = fleet_model(model_name, running, minReplicas=1, maxReplicas=3,
                       files=[{"path": "/config/chat.jinja", "content": TEMPLATE}],
                       env={"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}, args=["--enforce-eager"])
    body["metadata"]["annotations"]["example.com/note"] = "first line\nsecond line"
    body["metadata"]["labels"] = {"team": "ml"}
    kube.create_model(fleet_admin, body)
    try:
        settle(lambda: ready_replicas(stored(fleet_admin, model_name)) == 1,
               "KubeAI to bring the model up")
        page = client.get(change_url(NS, model_name))
        before = page.context["original"]
        # What KubeAI's update of the whole object wrote; kmm never sent these.
        assert before["spec"]["owner"] == ""
        assert before["metadata"]["labels"][FEATURE_LABEL] == "true"
        data = browser_data(page)
        data["maxReplicas"] = "4"  # within KubeAI's bounds: it has nothing to write back
        assert client.post(change_url(NS, model_name), data).status_code == 302

        after = stored(fleet_admin, model_name)
        assert after["spec"]["maxReplicas"] == 4
        assert after["spec"]["owner"] == ""
        assert int(after["metadata"]["generation"]) == int(before["metadata"]["generation"]) + 1
        ignored = ("spec.maxReplicas", "metadata.resourceVersion", "metadata.generation",
                   "metadata.managedFields", "status")
        assert json.dumps(without(after, *ignored)) == \
            json.dumps(without(before, *ignored))
    finally:
        kube.delete_model(fleet_admin, NS, model_name)
