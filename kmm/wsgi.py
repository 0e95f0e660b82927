"""WSGI entry point: `gunicorn kmm.wsgi` (see the Dockerfile and the chart).

Anonymous paths that never read a cookie (the public model list and the probes)
are served by a second Django handler whose middleware stack leaves out what
only signed-in pages use: sessions, CSRF, messages, htmx and the Kubernetes
caller. Everything else (security headers, host checks, CSP, metrics) stays;
a middleware added later is kept on both stacks unless it is listed below.
"""

import os

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmm.settings")

ANONYMOUS_PREFIXES = ("/public/", "/healthz", "/readyz", "/metrics")
SIGNED_IN_ONLY = (
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kmm.htmx_messages.HtmxMessagesMiddleware",
    "kmm.middleware.KubeCallerMiddleware",
)


class AnonymousHandler(WSGIHandler):
    """Django with settings.MIDDLEWARE less SIGNED_IN_ONLY."""

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [m for m in full if m not in SIGNED_IN_ONLY]
        try:  # at start-up, before any request: nothing else reads settings meanwhile
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def dispatch(full: WSGIHandler, anonymous: WSGIHandler):  # type: ignore[no-untyped-def]
    def application(environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO", "").startswith(ANONYMOUS_PREFIXES):
            return anonymous(environ, start_response)
        return full(environ, start_response)

    return application


django_application = get_wsgi_application()
application = dispatch(django_application, AnonymousHandler())
