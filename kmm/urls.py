from django.urls import include, path

from kmm import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("public/", include("public_api.urls")),
    path("api/", include("models_api.urls")),
    path("", include("models_ui.urls")),
]
