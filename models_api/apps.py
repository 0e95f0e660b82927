from django.apps import AppConfig


class ModelsApiConfig(AppConfig):
    name = "models_api"
    verbose_name = "Management REST API"
