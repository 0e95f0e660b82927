from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from models_api import root, views

app_name = "models_api"

urlpatterns = [
    path("", root.ApiRoot.as_view(), name="root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="models_api:schema"), name="docs"),
    path("namespaces/", views.NamespaceList.as_view(), name="namespaces"),
    path("models/", views.AllModelList.as_view(), name="models"),
    path("namespaces/<str:namespace>/models/", views.NamespaceModelList.as_view(),
         name="namespace_models"),
    path("namespaces/<str:namespace>/models/<str:name>/", views.ModelDetail.as_view(),
         name="model"),
    re_path(r"^", views.not_found),
]
