"""Shared fixtures: one real control plane per test session, unique namespaces per test."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import kube
from devcluster import controlplane
from kube.cache import ModelCache, model_cache, reset_model_cache
from kube.watches import reset_fleet


@pytest.fixture(scope="session")
def control_plane() -> Iterator[controlplane.ControlPlane]:
    plane = controlplane.start()
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig)
    kube.set_default_cluster(cluster)
    _started.append(plane)
    yield plane
    reset_fleet()
    reset_model_cache()
    kube.set_default_cluster(None)
    plane.stop()


_started: list[controlplane.ControlPlane] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Anything that touches the control plane is an integration test; the fleet's are
    # counted on their own.
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "fleet_plane" in fixtures:
            item.add_marker(pytest.mark.kubeai_fleet)
        elif "control_plane" in fixtures:
            item.add_marker(pytest.mark.cluster)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reports = [r for r in terminalreporter.stats.get("passed", []) if r.when == "call"]
    failed = [r for r in terminalreporter.stats.get("failed", []) if r.when == "call"]
    integration = [r for r in reports if "cluster" in r.keywords]
    fleet = [r for r in reports if "kubeai_fleet" in r.keywords]
    skipped_fleet = [r for r in terminalreporter.stats.get("skipped", [])
                     if "kubeai_fleet" in r.keywords]
    terminalreporter.write_line(
        f"integration tests against the real API server: {len(integration)} passed, "
        f"{sum('cluster' in r.keywords for r in failed)} failed; "
        f"fleet tests against KubeAI's real controller: {len(fleet)} passed, "
        f"{sum('kubeai_fleet' in r.keywords for r in failed)} failed, "
        f"{len(skipped_fleet)} skipped; "
        f"unit and other tests: {len(reports) - len(integration) - len(fleet)} passed")
    from tests.rbac import by_category, forbidden_attempts, forbidden_successes

    if forbidden_attempts:
        categories = ", ".join(f"{name} {count}" for name, count in sorted(by_category().items()))
        terminalreporter.write_line(
            f"security: {len(forbidden_attempts)} forbidden attempts across users, modes and "
            f"surfaces ({categories}), {len(forbidden_successes)} succeeded")
    for plane in _started:
        terminalreporter.write_line(
            f"control plane: kube-apiserver {plane.version} at {plane.server}, "
            f"ready in {plane.started_in:.1f}s"
        )
    from tests.fleet.conftest import FIGURES, STARTED

    for plane in STARTED:
        terminalreporter.write_line(
            f"fleet: KubeAI, kube-scheduler, kube-controller-manager and KWOK beside "
            f"kube-apiserver {plane.version}, ready in {plane.started_in:.1f}s")
    for what, seconds in FIGURES.items():
        terminalreporter.write_line(f"fleet: {what}: {seconds:.2f}")


@pytest.fixture
def cluster(control_plane: controlplane.ControlPlane) -> kube.Cluster:
    return kube.default_cluster()


@pytest.fixture
def admin(cluster: kube.Cluster) -> kube.Caller:
    return cluster.as_app()


@pytest.fixture
def namespace(admin: kube.Caller) -> str:
    """A fresh namespace. Without a namespace controller it is never waited on after delete."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    kube.create_namespace(admin, name)
    return name


@pytest.fixture
def cache(control_plane: controlplane.ControlPlane) -> ModelCache:
    """The process-wide watch cache (as the views use it), synced with the test cluster."""
    shared = model_cache()
    assert shared.wait_synced(10), shared.stats()["models"].last_error
    return shared


def make_model(namespace: str, name: str = "m1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": "hf://org/model",
        "engine": "VLLM",
        "features": ["TextGeneration"],
    }
    body.update(spec)
    return {"metadata": {"name": name, "namespace": namespace}, "spec": body}


def kubectl(*args: str, stdin: str | None = None) -> str:
    """Run the real kubectl (built with the control plane) against the test cluster."""
    binary = controlplane.build_binaries() / "kubectl"
    kubeconfig = str(_started[-1].kubeconfig)
    result = subprocess.run([str(binary), f"--kubeconfig={kubeconfig}", *args], input=stdin,
                            capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def set_status(namespace: str, name: str, status: dict[str, Any]) -> None:
    """Write status as KubeAI's controller would, through the status subresource."""
    kubectl("patch", "models.kubeai.org", name, "-n", namespace, "--subresource=status",
            "--type=merge", "-p", json.dumps({"status": status}))


def create_event(model: dict[str, Any], reason: str, timestamp: str) -> None:
    metadata = model["metadata"]
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": f"{metadata['name']}.", "namespace": metadata["namespace"]},
        "involvedObject": {"apiVersion": "kubeai.org/v1", "kind": "Model",
                           "name": metadata["name"], "namespace": metadata["namespace"],
                           "uid": metadata["uid"]},
        "reason": reason, "message": f"{reason} happened", "type": "Normal",
        "firstTimestamp": timestamp, "lastTimestamp": timestamp, "count": 1,
        "source": {"component": "kubeai"},
    }
    kubectl("create", "-f", "-", stdin=json.dumps(event))


def requests_served(resource: str, verb: str = "POST", scope: str | None = None) -> int:
    """How many `verb` requests of `resource` the API server has served (its own /metrics)."""
    return sum(int(float(line.rsplit(" ", 1)[1]))
               for line in kubectl("get", "--raw", "/metrics").splitlines()
               if line.startswith("apiserver_request_total{") and f'resource="{resource}"' in line
               and f'verb="{verb}"' in line and (scope is None or f'scope="{scope}"' in line))


def eventually(condition: Callable[[], bool], timeout: float) -> bool:
    """Whether `condition()` holds within `timeout` seconds (checked every 50 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def wait_for_cache(admin: kube.Caller, namespace: str, timeout: float = 5.0) -> None:
    """Block until kmm's watch cache shows the namespace's models as the API server has them."""
    from kube.cache import model_cache

    wanted = {(m["metadata"]["name"], m["metadata"]["resourceVersion"])
              for m in kube.list_models(admin, namespace)}

    def caught_up(snapshot: Any) -> bool:
        return {(m["metadata"]["name"], m["metadata"]["resourceVersion"])
                for m in snapshot.in_namespace(namespace)} == wanted

    assert model_cache().wait_until(caught_up, timeout), f"the cache never caught up on {namespace}"


@pytest.fixture(autouse=True)
def _fresh_django_cache() -> None:
    """Throttle counters (sign-in, public API) live in Django's cache: each test starts clean."""
    from django.core.cache import cache

    from kmm import auth_throttle
    from public_api.throttling import counts

    cache.clear()
    counts.reset()
    auth_throttle.reset()
