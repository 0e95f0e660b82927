from django.urls import path

from public_api import views

urlpatterns = [
    path("api/models", views.PublicModels.as_view(), name="public_models"),
]
