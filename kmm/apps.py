from django.apps import AppConfig
from django.conf import settings
from django.core import signals

IN_PROCESS_CACHES = ("django.core.cache.backends.locmem.LocMemCache",
                     "django.core.cache.backends.dummy.DummyCache")


class KmmConfig(AppConfig):
    name = "kmm"
    verbose_name = "kmm"

    def ready(self) -> None:
        # Django hooks handlers to every request's start and end that close database and
        # cache connections. kmm has no database (Kubernetes is the store) and keeps its
        # cache in process memory, so they have nothing to close; on the hot public
        # endpoint, visiting the (dummy) connections costs more than the view itself.
        if not settings.DATABASES:
            from django.db import close_old_connections, reset_queries

            signals.request_started.disconnect(reset_queries)
            signals.request_started.disconnect(close_old_connections)
            signals.request_finished.disconnect(close_old_connections)
        if all(cache["BACKEND"] in IN_PROCESS_CACHES for cache in settings.CACHES.values()):
            from django.core.cache import close_caches

            signals.request_finished.disconnect(close_caches)
