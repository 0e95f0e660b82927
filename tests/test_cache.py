"""The watch cache follows the API server, survives its restarts and 410 Gone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

import kube
from devcluster import controlplane
from kube.cache import ModelCache, Snapshot
from tests.conftest import eventually, kubectl, make_model

pytestmark = pytest.mark.cluster

own_plane_only = pytest.mark.skipif(bool(os.environ.get("KMM_TEST_KUBECONFIG")),
                                    reason="starts and stops its own control plane")


def shows(namespace: str, name: str):  # type: ignore[no-untyped-def]
    return lambda snapshot: snapshot.get(namespace, name) is not None


def test_it_follows_a_create_within_a_second(cache: ModelCache, admin: kube.Caller,
                                             namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "new"))
    assert cache.wait_until(shows(namespace, "new"), 1.0)


def test_it_follows_an_update_within_a_second(cache: ModelCache, admin: kube.Caller,
                                              namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "changing"))
    kube.patch_model(admin, namespace, "changing", {"spec": {"engine": "OLlama",
                                                             "url": "ollama://x"}})
    assert cache.wait_until(
        lambda s: (s.get(namespace, "changing") or {}).get("spec", {}).get("engine") == "OLlama",
        1.0)


def test_it_follows_a_delete_within_a_second(cache: ModelCache, admin: kube.Caller,
                                             namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "doomed"))
    assert cache.wait_until(shows(namespace, "doomed"), 1.0)
    kube.delete_model(admin, namespace, "doomed")
    assert cache.wait_until(lambda s: s.get(namespace, "doomed") is None, 1.0)


def test_it_indexes_models_by_namespace(cache: ModelCache, admin: kube.Caller,
                                        namespace: str) -> None:
    for name in ("b", "a"):
        kube.create_model(admin, make_model(namespace, name))
    assert cache.wait_until(lambda s: len(s.in_namespace(namespace)) == 2, 1.0)
    assert [m["metadata"]["name"] for m in cache.snapshot().in_namespace(namespace)] == ["a", "b"]


def test_it_lists_namespaces(cache: ModelCache, namespace: str) -> None:
    assert cache.wait_until(lambda s: namespace in s.namespaces, 1.0)


def test_a_snapshot_stays_the_same_while_the_cache_moves_on(cache: ModelCache, admin: kube.Caller,
                                                            namespace: str) -> None:
    before = cache.snapshot()
    kube.create_model(admin, make_model(namespace, "later"))
    assert cache.wait_until(shows(namespace, "later"), 1.0)
    assert before.get(namespace, "later") is None
    assert cache.snapshot().version > before.version


def test_it_recovers_after_410_gone(cache: ModelCache, admin: kube.Caller,
                                    namespace: str) -> None:
    gone_before = cache.stats()["models"].restarts["gone"]
    # Resuming from resourceVersion 1, long compacted out of the API server's window,
    # makes the real API server answer 410 Gone; the cache must list again.
    cache.restart_watch(resource_version="1")
    kube.create_model(admin, make_model(namespace, "after-gone"))
    assert cache.wait_until(shows(namespace, "after-gone"), 5.0)
    assert cache.stats()["models"].restarts["gone"] > gone_before


@pytest.fixture
def own_plane() -> Iterator[tuple[controlplane.ControlPlane, kube.Caller]]:
    plane = controlplane.start()
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig, read_timeout=5)
    try:
        yield plane, cluster.as_app()
    finally:
        cluster.close()
        plane.stop()


@own_plane_only
def test_it_recovers_when_the_api_server_stops_and_restarts(
        own_plane: tuple[controlplane.ControlPlane, kube.Caller]) -> None:
    plane, caller = own_plane
    kube.create_namespace(caller, "outage")
    kube.create_model(caller, make_model("outage", "before"))
    cache = ModelCache(caller).start()
    try:
        assert cache.wait_synced(10)
        plane.halt()
        assert eventually(lambda: not cache.connected, 10)
        assert cache.snapshot().get("outage", "before") is not None  # stale, still served
        plane.resume()
        kube.create_model(caller, make_model("outage", "after"))
        assert cache.wait_until(shows("outage", "after"), 30)
        # A restarted API server may still answer watches with 429 for a moment.
        assert eventually(lambda: cache.connected, 10)
    finally:
        cache.stop()


@own_plane_only
def test_it_stops_promptly(own_plane: tuple[controlplane.ControlPlane, kube.Caller]) -> None:
    _, caller = own_plane
    cache = ModelCache(caller).start()
    assert cache.wait_synced(10)
    started = time.monotonic()
    cache.stop()
    assert time.monotonic() - started < 2
    assert not cache.models.thread.is_alive()


def test_an_empty_snapshot_is_not_synced() -> None:
    assert Snapshot().synced is False


@pytest.mark.skipif(bool(os.environ.get("KMM_TEST_KUBECONFIG")), reason="needs the static users")
def test_it_watches_only_the_given_namespaces_for_a_namespaced_identity(
        control_plane: controlplane.ControlPlane, cluster: kube.Cluster, admin: kube.Caller,
        namespace: str) -> None:
    kubectl("create", "role", "model-reader", "--verb=get,list,watch",
            "--resource=models.kubeai.org", "-n", namespace)
    kubectl("create", "rolebinding", "bob-reads-models", "--role=model-reader", "--user=bob",
            "-n", namespace)
    kube.create_model(admin, make_model(namespace, "visible"))
    cache = ModelCache(cluster.as_token(control_plane.tokens["bob"]), [namespace]).start()
    try:
        assert cache.wait_synced(10), cache.stats()["models"].last_error
        assert cache.snapshot().namespaces == (namespace,)
        kube.create_model(admin, make_model(namespace, "later"))
        assert cache.wait_until(shows(namespace, "later"), 1.0)
    finally:
        cache.stop()


def test_it_reads_the_namespaces_to_watch_from_the_environment() -> None:
    from kube.cache import watch_namespaces

    assert watch_namespaces({"KMM_WATCH_NAMESPACES": "a, b"}) == ["a", "b"]
    assert watch_namespaces({}) is None
