"""Who each request acts as on Kubernetes, and how service errors reach the user.

`request.kube` is the `kube.Caller` every view passes to the service layer and
`request.signed_in` says who that is (see kmm.auth for the modes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render

import kube
from kmm import auth, auth_throttle
from kmm.addresses import is_loopback
from kube import access as kube_access

log = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/public/", "/healthz", "/readyz", "/metrics", "/static/", "/signin",
                   "/signout", "/favicon.ico")
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def from_a_browser(request: HttpRequest) -> bool:
    """Browsers mark every cross-site write (and every fetch) with these; scripts send neither."""
    return "Origin" in request.headers or "Sec-Fetch-Site" in request.headers


def _needs_csrf(request: HttpRequest, identity: auth.SignedIn) -> bool:
    return from_a_browser(request) if identity.via == "none" else identity.needs_csrf


def _no_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    raise AssertionError


class DebugLoopbackOnlyMiddleware:
    """With DEBUG on, answer loopback clients only (the connection's own address, never the
    Host header): debug pages and authentication-free mode must not reach the network even
    when a server was started on a wider address by mistake. First in the stack."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG and not is_loopback(request.META.get("REMOTE_ADDR", "")):
            return HttpResponseForbidden("kmm runs in debug mode and answers loopback clients "
                                         "only.", content_type="text/plain")
        return self.get_response(request)


class KubeCallerMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(PUBLIC_PREFIXES):
            return self.get_response(request)
        try:
            identity = auth.identify(request, settings.KMM_AUTH_MODE)
        except kube.Unauthorized:
            identity = None
        except auth.TooManyFailures:
            return self.too_many_failures(request)
        except kube.KubeError as exc:
            return self.render_error(request, exc)
        if identity is None:
            return auth.sign_in_required(request)
        # DRF views are csrf_exempt; a browser's session or proxy cookie still needs CSRF.
        # In mode none the ambient credential is the network position, which only a browser
        # can be tricked into using: a request without a browser's Origin or Sec-Fetch-Site
        # header is a script's, not a CSRF case.
        api_write = request.path.startswith("/api/") and request.method in UNSAFE_METHODS
        if api_write and _needs_csrf(request, identity) and self._csrf_refused(request):
            hint = ("scripts need no token in this mode (send no Origin header)"
                    if identity.via == "none" else "or authenticate with a bearer token")
            return JsonResponse({"detail": "CSRF check failed: send the X-CSRFToken header "
                                           f"with the csrftoken cookie's value; {hint}."},
                                status=403)
        request.signed_in = identity  # type: ignore[attr-defined]
        request.kube = identity.caller  # type: ignore[attr-defined]
        kube_access.begin_request()
        response = self.get_response(request)
        stale = kube_access.stale_age()
        if stale is not None:  # what the caller may see came from a last-known answer
            response["Warning"] = (f'110 kmm "Response is Stale: access as checked {stale:.0f} s '
                                   'ago; the Kubernetes API server cannot be reached"')
        return response

    @staticmethod
    def too_many_failures(request: HttpRequest) -> HttpResponse:
        detail = ("Too many refused tokens from your address. Wait a few minutes, then try "
                  "again.")
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": detail}, status=429)
        else:
            response = HttpResponse(detail, status=429, content_type="text/plain")
        response["Retry-After"] = str(auth_throttle.SIGN_IN_WINDOW_SECONDS)
        return response

    def _csrf_refused(self, request: HttpRequest) -> bool:
        return self.csrf.process_view(request, _no_view, (), {}) is not None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Service-layer errors become pages (or JSON) with their status, never a trace."""
        if not isinstance(exception, kube.KubeError):
            return None
        if isinstance(exception, kube.Unauthorized) and settings.KMM_AUTH_MODE == "token":
            auth.forget(request)
            return auth.sign_in_required(request)
        return self.render_error(request, exception)

    @staticmethod
    def render_error(request: HttpRequest, error: kube.KubeError) -> HttpResponse:
        log.warning("%s %s: %s", request.method, request.path, error)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": error.message}, status=error.status)
        return render(request, "error.html", {"error": error}, status=error.status)
