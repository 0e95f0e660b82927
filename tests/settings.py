"""Test settings: production settings with a throwaway key and plain-HTTP cookies."""

import os

os.environ.setdefault("KMM_SECRET_KEY", "kmm-tests-only-not-a-secret-" + "0123456789abcdef" * 2)
os.environ.setdefault("KMM_SECURE_COOKIES", "false")
os.environ.setdefault("KMM_AUTH_MODE", "none")
os.environ.setdefault("KMM_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("KMM_METRICS_PORT", "0")  # tests/test_security.py checks the real port
os.environ.setdefault("KMM_PROXY_ALLOWED_GROUPS", "team-b,kmm-test-admins")

from kmm.settings import *  # noqa: F403

STORAGES = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
