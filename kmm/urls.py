from django.urls import include, path

from kmm import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("public/", include("public_api.urls")),
    path("", include("models_ui.urls")),
]
