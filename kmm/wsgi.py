"""WSGI entry point: `gunicorn kmm.wsgi` (see the Dockerfile and the chart)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmm.settings")

application = get_wsgi_application()
