"""Probes: /healthz says the process is up; /readyz that the API server answers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

import kube


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    try:
        kube.server_version(kube.default_cluster().as_app())
    except kube.KubeError as exc:
        return HttpResponse(f"not ready: {exc}", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
