"""Who each request acts as on Kubernetes.

`request.kube` is the `kube.Caller` every view passes to the service layer.
With KMM_AUTH_MODE=none it is the app's own identity; the other modes are
handled by kmm.auth (token sign-in, trusted proxy headers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

import kube
from kmm import auth

log = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/public/", "/healthz", "/readyz", "/metrics", "/static/", "/signin",
                   "/signout")


class KubeCallerMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(PUBLIC_PREFIXES):
            return self.get_response(request)
        identity = auth.identify(request, settings.KMM_AUTH_MODE)
        if identity is None:
            return auth.sign_in_required(request)
        request.signed_in = identity  # type: ignore[attr-defined]
        request.kube = identity.caller  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Service-layer errors become pages (or JSON) with their status, never a trace."""
        if not isinstance(exception, kube.KubeError):
            return None
        if isinstance(exception, kube.Unauthorized) and settings.KMM_AUTH_MODE == "token":
            auth.forget(request)
            return auth.sign_in_required(request)
        log.warning("%s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": exception.message}, status=exception.status)
        return render(request, "error.html", {"error": exception}, status=exception.status)
