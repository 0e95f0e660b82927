"""The watch cache follows the API server, survives its restarts and 410 Gone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

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


# --- a crashed or hung watch shows; a replaced API server is found ---------------------------

def own_cache(caller: kube.Caller) -> ModelCache:
    """A cache of its own, synced and with its model watch open."""
    cache = ModelCache(caller).start()
    assert cache.wait_synced(10), cache.stats()["models"].last_error
    assert eventually(lambda: cache.models.response is not None, 10)
    return cache


def test_a_crash_in_the_watch_is_counted_and_the_watch_recovers(admin: kube.Caller,
                                                                namespace: str) -> None:
    cache = own_cache(admin)
    watcher, real_watch = cache.models, cache.models.watch
    crashes = iter([RuntimeError("a bug")])

    def crashing() -> None:
        error = next(crashes, None)
        if error is not None:
            raise error
        real_watch()

    try:
        watcher.watch = crashing  # type: ignore[method-assign]
        cache.restart_watch()
        assert eventually(lambda: cache.stats()["models"].restarts["crash"] == 1, 10)
        kube.create_model(admin, make_model(namespace, "after-crash"))
        assert cache.wait_until(shows(namespace, "after-crash"), 15)
        assert cache.stopped_threads() == []
    finally:
        cache.stop()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_watch_thread_that_dies_shows_as_stopped(admin: kube.Caller) -> None:
    cache = own_cache(admin)

    def dying() -> None:
        raise SystemExit("not an Exception: nothing in the loop catches it")

    try:
        cache.models.watch = dying  # type: ignore[method-assign]
        cache.restart_watch()
        assert eventually(lambda: cache.stopped_threads() == [cache.models.thread.name], 10)
        assert not cache.connected
    finally:
        cache.stop()


def test_wait_for_write_accepts_a_newer_version(cache: ModelCache, admin: kube.Caller,
                                                namespace: str) -> None:
    from kube.cache import wait_for_write

    kube.create_model(admin, make_model(namespace, "raced"))
    ours = kube.patch_model(admin, namespace, "raced", {"spec": {"minReplicas": 1}})
    theirs = kube.patch_model(admin, namespace, "raced", {"metadata": {"labels": {"k": "v"}}})
    newer = theirs["metadata"]["resourceVersion"]
    assert cache.wait_until(lambda s: (s.get(namespace, "raced") or {}).get("metadata", {})
                            .get("resourceVersion") == newer, 5)
    # The cache has moved past our version: waiting for it (or newer) returns at once.
    started = time.monotonic()
    assert wait_for_write(namespace, "raced", ours, timeout=5)
    assert time.monotonic() - started < 5


@own_plane_only
def test_a_hung_api_server_is_noticed_and_the_watch_recovers_on_resume(
        own_plane: tuple[controlplane.ControlPlane, kube.Caller]) -> None:
    import signal

    plane, caller = own_plane
    kube.create_namespace(caller, "hung")
    kube.create_model(caller, make_model("hung", "before"))
    cache = own_cache(caller)
    apiserver = plane.processes[0]
    try:
        os.kill(apiserver.pid, signal.SIGSTOP)
        # Noticed by the cache's probe (not after the watch's 5-minute timeout).
        assert eventually(lambda: not cache.connected, 60)
        assert caller.cluster.gate.down
        assert cache.stats()["models"].restarts["hung"] >= 1
        assert cache.snapshot().get("hung", "before") is not None  # the last snapshot serves
    finally:
        os.kill(apiserver.pid, signal.SIGCONT)
    try:
        assert eventually(lambda: cache.connected, 30)
        kube.create_model(caller, make_model("hung", "after"))
        assert cache.wait_until(shows("hung", "after"), 30)
        assert not caller.cluster.gate.down
    finally:
        cache.stop()


@own_plane_only
def test_a_replaced_api_server_is_found_through_the_changed_kubeconfig(
        own_plane: tuple[controlplane.ControlPlane, kube.Caller],
        control_plane: controlplane.ControlPlane, admin: kube.Caller, namespace: str,
        tmp_path: Path) -> None:
    old_plane, _ = own_plane
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_bytes(old_plane.kubeconfig.read_bytes())
    cluster = kube.Cluster.from_kubeconfig(kubeconfig, read_timeout=5)
    kube.create_model(admin, make_model(namespace, "on-the-new-server"))
    cache = own_cache(cluster.as_app())
    try:
        assert cache.snapshot().get(namespace, "on-the-new-server") is None
        # `make cluster` again: a new API server (port, CA, data), the kubeconfig rewritten.
        replacement = tmp_path / "kubeconfig.new"
        replacement.write_bytes(control_plane.kubeconfig.read_bytes())
        replacement.replace(kubeconfig)
        old_plane.halt()
        assert cache.wait_until(shows(namespace, "on-the-new-server"), 60)
        assert cluster.server == control_plane.server
        assert namespace in kube.list_namespaces(cluster.as_app())
    finally:
        cache.stop()
        cluster.close()


@pytest.mark.skipif(bool(os.environ.get("KMM_TEST_KUBECONFIG")), reason="needs the plane's CA")
def test_in_a_pod_the_rotated_service_account_token_is_read_again(
        control_plane: controlplane.ControlPlane, admin: kube.Caller, namespace: str,
        tmp_path: Path) -> None:
    assert control_plane.pki is not None
    for account in ("first", "second"):
        kubectl("create", "serviceaccount", account, "-n", namespace)
    mounted = tmp_path / "serviceaccount"
    mounted.mkdir()
    (mounted / "ca.crt").write_bytes(control_plane.pki.ca_cert.read_bytes())
    (mounted / "token").write_text(kubectl("create", "token", "first", "-n", namespace))
    host, port = control_plane.server.removeprefix("https://").rsplit(":", 1)
    cluster = kube.Cluster.in_cluster(directory=mounted, environ={
        "KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port})
    try:
        caller = cluster.as_app()
        assert kube.who_am_i(caller).user == f"system:serviceaccount:{namespace}:first"
        rotated = mounted / "token.new"  # the kubelet writes a new file and swaps it in
        rotated.write_text(kubectl("create", "token", "second", "-n", namespace))
        rotated.replace(mounted / "token")
        assert kube.who_am_i(caller).user == f"system:serviceaccount:{namespace}:second"
    finally:
        cluster.close()


def test_dropping_a_watch_on_purpose_does_not_count_the_api_server_as_down(
        admin: kube.Caller) -> None:
    cache = own_cache(admin)
    try:
        dropped = cache.models.response
        cache.restart_watch()
        assert eventually(lambda: cache.models.response not in (None, dropped), 10)
        assert not admin.cluster.gate.down
        assert cache.stats()["models"].restarts["error"] == 0
    finally:
        cache.stop()
    assert not admin.cluster.gate.down
