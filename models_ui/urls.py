from django.urls import path, register_converter

from models_ui import views
from models_ui.converters import ModelNameConverter, NamespaceConverter

register_converter(NamespaceConverter, "namespace")
register_converter(ModelNameConverter, "model")

app_name = "models_ui"

# The admin's URL set: changelist, add/, <object>/change/, <object>/delete/.
urlpatterns = [
    path("", views.model_list, name="list"),
    path("add/", views.model_add, name="add"),
    path("delete-selected/", views.delete_selected, name="delete_selected"),
    path("rows/<str:prefix>/", views.add_row, name="add_row"),
    path("models/<namespace:namespace>/<model:name>/", views.model_detail, name="detail"),
    path("models/<namespace:namespace>/<model:name>/change/", views.model_change, name="change"),
    path("models/<namespace:namespace>/<model:name>/reapply/", views.model_reapply, name="reapply"),
    path("models/<namespace:namespace>/<model:name>/delete/", views.model_delete, name="delete"),
    path("models/<namespace:namespace>/<model:name>/publish/", views.model_publish, name="publish"),
    path("models/<namespace:namespace>/<model:name>/yaml/", views.model_yaml, name="yaml"),
    path("models/<namespace:namespace>/<model:name>/version/", views.model_version, name="version"),
]
