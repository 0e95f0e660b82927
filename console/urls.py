from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/<str:preset>/deploy/", views.deploy, name="deploy"),
    path("fit/", views.form_fit, name="fit"),
    path("import/", views.import_models, name="import"),
    path("export-selected/", views.export_selected, name="export_selected"),
    path("scale-selected-to-zero/", views.scale_selected_to_zero, name="scale_selected"),
    path("models/<str:namespace>/<str:name>/panel/", views.panel, name="panel"),
    path("models/<str:namespace>/<str:name>/scale/", views.scale, name="scale"),
    path("models/<str:namespace>/<str:name>/pin/", views.pin, name="pin"),
    path("models/<str:namespace>/<str:name>/prompt/", views.send_prompt, name="prompt"),
    path("models/<str:namespace>/<str:name>/prompt/progress/", views.prompt_progress,
         name="prompt_progress"),
    path("models/<str:namespace>/<str:name>/clone/", views.clone, name="clone"),
    path("models/<str:namespace>/<str:name>/export/", views.export_one, name="export"),
]
