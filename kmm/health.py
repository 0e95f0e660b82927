"""Probes: /healthz says the process is up; /readyz that it can serve from a fresh cache.

Ready means: the watch cache has listed the models (it starts on the first probe
or request in each process) and its watch is in touch with the API server.
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
    if not cache.connected:
        return _not_ready("the Kubernetes API server cannot be reached "
                          f"({cache.stats()['models'].last_error})")
    return HttpResponse("ok", content_type="text/plain")


def _not_ready(reason: str) -> HttpResponse:
    return HttpResponse(f"not ready: {reason}", status=503, content_type="text/plain")
