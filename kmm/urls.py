from django.urls import include, path

from kmm import auth_views, health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("signin/", auth_views.sign_in, name="signin"),
    path("signout/", auth_views.sign_out, name="signout"),
    path("public/", include("public_api.urls")),
    path("api/", include("models_api.urls")),
    path("", include("models_ui.urls")),
]
