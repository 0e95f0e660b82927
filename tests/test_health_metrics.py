"""/readyz follows the watch cache; /metrics exposes requests, cache and API-server figures."""

from __future__ import annotations

import os
import re

import pytest
from django.test import Client

import kube
from devcluster import controlplane
from kmm import health
from kube.cache import ModelCache
from tests.conftest import eventually

pytestmark = pytest.mark.cluster


def test_it_is_ready_once_the_cache_has_synced(client: Client, cache: ModelCache) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.skipif(bool(os.environ.get("KMM_TEST_KUBECONFIG")),
                    reason="starts and stops its own control plane")
def test_it_stays_ready_serving_the_last_snapshot_while_the_api_server_is_down(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    plane = controlplane.start()
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig, read_timeout=5)
    own = ModelCache(cluster.as_app()).start()
    monkeypatch.setattr(health, "model_cache", lambda: own)
    try:
        assert own.wait_synced(10)
        assert client.get("/readyz").status_code == 200
        plane.halt()
        assert eventually(lambda: not own.connected, 10)
        response = client.get("/readyz")
        assert response.status_code == 200
        assert b"serving the last snapshot" in response.content
        assert b"cannot be reached" in response.content
    finally:
        own.stop()
        cluster.close()
        plane.stop()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_it_is_not_ready_when_a_watch_thread_died(client: Client, admin: kube.Caller,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    own = ModelCache(admin).start()
    monkeypatch.setattr(health, "model_cache", lambda: own)

    def dying() -> None:
        raise SystemExit("not an Exception: nothing in the loop catches it")

    try:
        assert own.wait_synced(10)
        assert eventually(lambda: own.models.response is not None, 10)  # a watch to drop
        own.models.watch = dying  # type: ignore[method-assign]
        own.restart_watch()
        assert eventually(lambda: bool(own.stopped_threads()), 10)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert b"watch cache threads stopped: kmm-watch-models.kubeai.org" in response.content
    finally:
        own.stop()


def test_it_counts_requests_per_view(client: Client, cache: ModelCache) -> None:
    client.get("/public/api/models", HTTP_ACCEPT="application/json")
    body = client.get("/metrics").content.decode()
    assert re.search(r'kmm_http_requests_total\{[^}]*view="public_models"', body)
    assert 'kmm_http_request_duration_seconds_bucket{le="0.001",view="public_models"}' in body


def test_it_reports_the_cache(client: Client, cache: ModelCache) -> None:
    body = client.get("/metrics").content.decode()
    assert "kmm_cache_synced 1.0" in body
    assert re.search(r"^kmm_cache_models \d+", body, re.M)
    assert re.search(r"^kmm_cache_age_seconds \d", body, re.M)
    assert 'kmm_watch_restarts_total{reason="gone",resource="models"}' in body
    assert re.search(r"^kmm_apiserver_down 0\.0", body, re.M)
    assert 'kmm_apiserver_refused_total{reason="busy"}' in body


def test_it_reports_whether_access_answers_follow_rbac(client: Client, cache: ModelCache,
                                                       admin: kube.Caller,
                                                       namespace: str) -> None:
    kube.allowed(admin, "list", namespace)  # starts kmm's RBAC watch in this process
    assert eventually(lambda: re.search(r"^kmm_access_rbac_watched 1\.0", client.get(
        "/metrics").content.decode(), re.M) is not None, 5)


def test_it_counts_api_server_errors(client: Client, admin: kube.Caller, namespace: str) -> None:
    with pytest.raises(kube.NotFound):
        kube.get_model(admin, namespace, "missing")
    body = client.get("/metrics").content.decode()
    assert re.search(r'^kmm_apiserver_errors_total\{status="404"\} [1-9]', body, re.M)


def test_it_serves_metrics_without_sign_in(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.KMM_AUTH_MODE = "token"
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
