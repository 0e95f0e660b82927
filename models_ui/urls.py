from django.urls import path

from models_ui import views

app_name = "models_ui"

# The admin's URL set: changelist, add/, <object>/change/, <object>/delete/.
urlpatterns = [
    path("", views.model_list, name="list"),
    path("add/", views.model_add, name="add"),
    path("delete-selected/", views.delete_selected, name="delete_selected"),
    path("rows/<str:prefix>/", views.add_row, name="add_row"),
    path("models/<str:namespace>/<str:name>/", views.model_detail, name="detail"),
    path("models/<str:namespace>/<str:name>/change/", views.model_change, name="change"),
    path("models/<str:namespace>/<str:name>/reapply/", views.model_reapply, name="reapply"),
    path("models/<str:namespace>/<str:name>/delete/", views.model_delete, name="delete"),
    path("models/<str:namespace>/<str:name>/publish/", views.model_publish, name="publish"),
    path("models/<str:namespace>/<str:name>/yaml/", views.model_yaml, name="yaml"),
    path("models/<str:namespace>/<str:name>/version/", views.model_version, name="version"),
]
