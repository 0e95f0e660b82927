from django.apps import AppConfig


class ModelsUiConfig(AppConfig):
    name = "models_ui"
    verbose_name = "KubeAI models"
