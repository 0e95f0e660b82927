from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from kmm import auth_views, health, metrics


def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(static("kmm/favicon.svg"))


# The public list comes first: it takes the most traffic, and resolving walks this list in order.
urlpatterns = [
    path("public/", include("public_api.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("signin/", auth_views.sign_in, name="signin"),
    path("signout/", auth_views.sign_out, name="signout"),
    path("api/", include("models_api.urls")),
    # Pages that do not link an icon (the browsable API) make browsers ask for this one.
    path("favicon.ico", favicon),
    path("", include("models_ui.urls")),
]
