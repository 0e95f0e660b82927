from django.urls import path

from models_ui import views

app_name = "models_ui"

urlpatterns = [
    path("", views.model_list, name="list"),
    path("models/<str:namespace>/<str:name>/", views.model_detail, name="detail"),
]
