"""The fleet: KubeAI's real controller on simulated nodes, started once for tests/fleet/.

The rest of the suite keeps the fast API-server-only plane (tests/conftest.py); while the
tests in this folder run, kmm (its views, its watch cache) talks to the fleet's API server.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

import kube
from devcluster import controlplane, fleet
from kube.cache import reset_model_cache
from kube.watches import fleet as watch_caches
from kube.watches import reset_fleet
from tests.browser.conftest import (  # noqa: F401 - Chromium: Debian's, its viewport, screenshots
    browser_context_args,
    browser_type_launch_args,
    screenshot,
)

# Filled as the tests run, printed in the terminal summary (tests/conftest.py).
FIGURES: dict[str, float] = {}
STARTED: list[controlplane.ControlPlane] = []
SETTLE_SECONDS = 60.0  # generous for a loaded 2-core CI machine; typical waits are 1-5 s


@pytest.fixture(scope="package")
def fleet_plane() -> Iterator[controlplane.ControlPlane]:
    reason = fleet.unavailable_reason() or (None if fleet.enabled() else "KMM_FLEET is off")
    if reason:
        pytest.skip(f"no fleet: {reason}")
    plane = controlplane.start(fleet=True)
    STARTED.append(plane)
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig)
    previous = kube.swap_default_cluster(cluster)
    reset_model_cache()
    reset_fleet()  # the console's watch caches follow the default cluster, as the models' do
    try:
        yield plane
    finally:
        reset_model_cache()
        reset_fleet()
        kube.swap_default_cluster(previous)
        cluster.close()
        plane.stop()


@pytest.fixture
def fleet_admin(fleet_plane: controlplane.ControlPlane) -> kube.Caller:
    return kube.default_cluster().as_app()


@pytest.fixture
def running(fleet_plane: controlplane.ControlPlane) -> fleet.Fleet:
    assert fleet_plane.fleet is not None
    return fleet_plane.fleet


@pytest.fixture
def console(fleet_plane: controlplane.ControlPlane, fleet_admin: kube.Caller,
            running: fleet.Fleet, monkeypatch: pytest.MonkeyPatch) -> Iterator[fleet.Fleet]:
    """kmm's console watches on the fleet's API server, KubeAI's system config published as
    the ConfigMap its chart makes (kubeai/kubeai-config), and KMM_KUBEAI_URL at its proxy."""
    reset_fleet()
    config = yaml.safe_dump(fleet.kubeai_system_config(0, 0))
    kube.create_objects(fleet_admin, [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kubeai-config", "namespace": fleet.NAMESPACE},
        "data": {"system.yaml": config}}])
    monkeypatch.setenv("KMM_KUBEAI_URL", kubeai_url(running))
    assert watch_caches().wait_synced(30)
    yield running
    reset_fleet()


def kubeai_url(running: fleet.Fleet) -> str:
    """KMM_KUBEAI_URL for this fleet: KubeAI's proxy, without the /openai/v1 kmm adds."""
    return running.openai_url.removesuffix("/openai/v1")


@pytest.fixture(scope="package")
def fleet_kmm(fleet_plane: controlplane.ControlPlane) -> Iterator[str]:
    """kmm served for real (for Chromium) against the fleet, its test prompt at KubeAI."""
    from tests.browser.conftest import start_kmm

    assert fleet_plane.fleet is not None
    process, url = start_kmm(fleet_plane, KMM_KUBEAI_URL=kubeai_url(fleet_plane.fleet))
    yield url
    controlplane.stop_process(process, grace=10)


@pytest.fixture
def model_name() -> str:
    return f"m-{uuid.uuid4().hex[:8]}"


def fleet_model(name: str, running: fleet.Fleet, **spec: Any) -> dict[str, Any]:
    """A Model in KubeAI's namespace whose requests reach the stand-in model server."""
    body: dict[str, Any] = {"url": "hf://org/model", "engine": "VLLM",
                            "features": ["TextGeneration"], "resourceProfile": "cpu:1"}
    body.update(spec)
    return {"metadata": {"name": name, "namespace": running.namespace,
                         "annotations": running.pod_address_annotations()},
            "spec": body}


def live_pods(caller: kube.Caller, name: str) -> list[dict[str, Any]]:
    return [p for p in kube.list_model_pods(caller, fleet.NAMESPACE, name)
            if not p["metadata"].get("deletionTimestamp")]


def ready_pods(caller: kube.Caller, name: str) -> list[dict[str, Any]]:
    return [p for p in live_pods(caller, name) if fleet.pod_ready(p)]


def settle(condition: Callable[[], bool], what: str, timeout: float = SETTLE_SECONDS) -> None:
    """Wait for KubeAI and the fleet to bring `condition` about (checked every 0.2 s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.2)
