"""Prometheus metrics: GET /metrics.

- kmm_http_requests_total{view,method,status} and kmm_http_request_duration_seconds{view}
- kmm_cache_models, kmm_cache_namespaces, kmm_cache_synced, kmm_cache_age_seconds (since the
  API server last told the cache anything), kmm_cache_version
- kmm_watch_restarts_total{resource,reason} (reason: gone = 410 re-list, error = reconnect)
- kmm_apiserver_errors_total{status} (failed API-server calls; status 0: unreachable)

Each process keeps its own figures (a gunicorn worker answers for itself).

Every label takes known values only (a request's method outside HTTP's own set counts as
"other"), so no client can grow the output. /metrics answers only on KMM_METRICS_PORT,
a second listener the chart's Service exposes apart from the UI's port, so the UI's
ingress never routes to it (0: on the one port, for development).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kube import cache as kube_cache
from kube.calls import API_ERRORS
from kube.watches import running_rbac_watch

REQUESTS = Counter("kmm_http_requests", "HTTP requests served, by view, method and status.",
                   ["view", "method", "status"])
LATENCY = Histogram("kmm_http_request_duration_seconds", "Time to answer a request, by view.",
                    ["view"], buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5,
                                       10))


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str | None) -> str:
    return method if method in METHODS else "other"


def status_label(status: int) -> str:
    return str(status) if 100 <= status <= 599 else "other"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        # Labelled children, looked up once per label set (labels() takes a lock each time).
        self.latency: dict[str, Any] = {}
        self.requests: dict[tuple[str, str, str], Any] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        view = match.view_name if match is not None else "none"
        latency = self.latency.get(view) or self.latency.setdefault(view, LATENCY.labels(view))
        latency.observe(time.perf_counter() - started)
        key = (view, method_label(request.method), status_label(response.status_code))
        counter = self.requests.get(key) or self.requests.setdefault(
            key, REQUESTS.labels(*key))
        counter.inc()
        return response


class CacheCollector(Collector):
    """Reads the watch cache's state at scrape time (without starting it)."""

    def collect(self) -> Iterator[Metric]:
        cache = kube_cache.running_cache()
        snapshot = cache.snapshot() if cache else kube_cache.Snapshot()
        yield GaugeMetricFamily("kmm_cache_models", "Models in the watch cache.",
                                value=len(snapshot.models))
        yield GaugeMetricFamily("kmm_cache_namespaces", "Namespaces in the watch cache.",
                                value=len(snapshot.namespaces))
        yield GaugeMetricFamily("kmm_cache_synced", "1 once the cache has listed the models.",
                                value=1 if snapshot.synced else 0)
        yield GaugeMetricFamily("kmm_cache_version", "Changes the cache has seen.",
                                value=snapshot.version)
        age = cache.age() if cache else float("inf")
        yield GaugeMetricFamily("kmm_cache_age_seconds", "Seconds since the API server last "
                                "told the cache anything (list, event or bookmark).", value=age)
        restarts = CounterMetricFamily("kmm_watch_restarts", "Watch restarts, by resource and "
                                       "reason (gone: 410 and a new list; error: reconnect).",
                                       labels=["resource", "reason"])
        for resource, stats in (cache.stats() if cache else {}).items():
            for reason in ("gone", "error"):
                restarts.add_metric([resource, reason], stats.restarts[reason])
        yield restarts
        failures = CounterMetricFamily("kmm_apiserver_errors", "Failed Kubernetes API calls, by "
                                       "HTTP status (0: unreachable).", labels=["status"])
        for code, count in sorted(API_ERRORS.items()):
            failures.add_metric([code], count)
        yield failures
        gate = cache.caller.cluster.gate if cache else None
        yield GaugeMetricFamily("kmm_apiserver_down", "1 while the API server is not answering "
                                "(calls answer 503 at once, one trial at a time).",
                                value=1 if gate is not None and gate.down else 0)
        rbac = running_rbac_watch()
        yield GaugeMetricFamily("kmm_access_rbac_watched", "1 while kmm's watch of RBAC is "
                                "synced and connected: access answers are then remembered "
                                "until RBAC changes (else for 5 s).",
                                value=1 if rbac is not None and rbac.healthy else 0)
        refused = CounterMetricFamily("kmm_apiserver_refused", "API-server calls refused "
                                      "without being sent (down: not answering; busy: the "
                                      "budget of calls in flight was full).", labels=["reason"])
        for reason in ("down", "busy"):
            refused.add_metric([reason], gate.refused[reason] if gate is not None else 0)
        yield refused


REGISTRY.register(CacheCollector())


def local_port(request: HttpRequest) -> int:
    """The port this request arrived on: gunicorn's socket, else the server's SERVER_PORT
    (runserver and WSGI servers set it from their listener, not from the Host header)."""
    sock = request.META.get("gunicorn.socket")
    if sock is not None:
        try:
            return int(sock.getsockname()[1])
        except (OSError, IndexError, TypeError, ValueError):
            return 0
    try:
        return int(request.META.get("SERVER_PORT", 0))
    except ValueError:
        return 0


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    port = settings.KMM_METRICS_PORT
    if port and local_port(request) != port:
        raise Http404("No metrics on this port.")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
