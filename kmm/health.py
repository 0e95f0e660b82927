"""Probes, answered from memory: neither ever waits for the Kubernetes API server.

/healthz: the process is up. /readyz: it can serve, meaning the watch cache has
listed the models once (it starts on the first probe or request in each process,
and the probe waits FIRST_SYNC_WAIT_SECONDS at most for that) and all its
threads are running. An API server that stops answering does not make kmm
unready: the public list and the cached pages keep being served from the last
snapshot, and calls that need the API server answer 503 at once (kube.calls).
The body says when the cache is out of touch; /metrics has the figures.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

import kube
from kube.cache import model_cache

FIRST_SYNC_WAIT_SECONDS = 1.0


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    try:
        cache = model_cache()
    except kube.ConfigurationError as exc:
        return _not_ready(str(exc))
    if not cache.wait_synced(FIRST_SYNC_WAIT_SECONDS):
        return _not_ready("the model cache has not listed the models yet "
                          f"({cache.stats()['models'].last_error or 'starting'})")
    stopped = cache.stopped_threads()
    if stopped:
        return _not_ready(f"watch cache threads stopped: {', '.join(stopped)}")
    if not cache.connected:
        return HttpResponse(
            "ok (serving the last snapshot: the Kubernetes API server cannot be reached, "
            f"{cache.stats()['models'].last_error})", content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def _not_ready(reason: str) -> HttpResponse:
    return HttpResponse(f"not ready: {reason}", status=503, content_type="text/plain")
