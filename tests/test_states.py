"""The change list's State from what KubeAI really writes (pure: no cluster)."""

from __future__ import annotations

from typing import Any

import pytest

from console.diagnosis import pod_row
from kube.podreason import pod_problem
from models_ui.presenters import NOT_READY, READY, SCALED_TO_ZERO, SCALING, ModelRow


def row(spec: dict[str, Any], ready: int = 0, running: int = 0) -> ModelRow:
    return ModelRow({"metadata": {"name": "m", "namespace": "kubeai"}, "spec": spec,
                     "status": {"replicas": {"all": running, "ready": ready}}})


@pytest.mark.parametrize(("spec", "ready", "running", "state"), [
    ({"minReplicas": 0}, 0, 0, SCALED_TO_ZERO),
    ({"minReplicas": 0, "replicas": 0}, 0, 0, SCALED_TO_ZERO),
    # KubeAI has not written spec.replicas yet, but minReplicas wants one: not "scaled to zero".
    ({"minReplicas": 1}, 0, 0, NOT_READY),
    ({"minReplicas": 1, "replicas": 1}, 0, 1, NOT_READY),
    ({"minReplicas": 1, "replicas": 1}, 1, 1, READY),
    ({"minReplicas": 1, "replicas": 2}, 1, 1, SCALING),
    ({"minReplicas": 0, "replicas": 0}, 0, 1, SCALING),  # scaling down, pod still there
    ({"autoscalingDisabled": True, "replicas": 1}, 0, 0, NOT_READY),
    ({"autoscalingDisabled": True, "replicas": 0, "minReplicas": 1}, 0, 0, SCALED_TO_ZERO),
])
def test_it_derives_the_state_from_spec_and_status(spec: dict[str, Any], ready: int,
                                                   running: int, state: str) -> None:
    assert row(spec, ready, running).state == state


def test_it_explains_a_pending_pod_by_the_schedulers_reason() -> None:
    message = "0/4 nodes are available: 2 Insufficient nvidia.com/gpu."
    pods = [{"status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": message}]}}]
    assert pod_problem(pods) == f"Unschedulable: {message}"


def test_it_explains_a_waiting_container_and_is_silent_for_healthy_pods() -> None:
    waiting = {"status": {"conditions": [{"type": "PodScheduled", "status": "True"}],
                          "containerStatuses": [{"state": {"waiting": {
                              "reason": "ImagePullBackOff", "message": "no such image"}}}]}}
    healthy = {"status": {"conditions": [{"type": "Ready", "status": "True"}],
                          "containerStatuses": [{"state": {"running": {}}}]}}
    assert pod_problem([waiting]) == "ImagePullBackOff: no such image"
    assert pod_problem([healthy]) is None


def test_it_names_the_worst_problem_among_the_pods_and_what_the_list_and_panel_share() -> None:
    pending = {"metadata": {"name": "model-a-1"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/4 nodes are available."}]}}
    pulling = {"metadata": {"name": "model-a-2"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "True"}], "containerStatuses": [{"state": {
            "waiting": {"reason": "ErrImagePull", "message": "not found"}}}]}}
    creating = {"metadata": {"name": "model-a-3"}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "True"}], "containerStatuses": [{"state": {
            "waiting": {"reason": "ContainerCreating"}}}]}}
    assert pod_problem([pending, pulling]) == "ErrImagePull: not found"
    assert pod_problem([creating, pending]) == "Unschedulable: 0/4 nodes are available."
    assert pod_problem([creating]) == "ContainerCreating"
    # The console's panel reads the same reason from the same function.
    assert pod_row(pulling, ()).reason == "ErrImagePull: not found"
    assert pod_row(pulling, ()).problem == "pull"
    warning = {"type": "Warning", "reason": "FailedScheduling", "message": "no room",
               "lastTimestamp": "2026-11-28T10:00:00Z"}
    bare = {"metadata": {"name": "model-a-4"}, "status": {"phase": "Pending"}}
    assert pod_problem([bare]) == "Waiting to start"
    assert pod_problem([bare], {"model-a-4": (warning,)}) == "FailedScheduling: no room"
