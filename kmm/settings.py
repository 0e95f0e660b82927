"""Django settings for kmm, read from environment variables (see README, "Configuration").

There are no database models: Kubernetes is the source of truth. Sessions live
in signed cookies and messages in the session, so nothing needs migrations.
"""

from __future__ import annotations

from pathlib import Path

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from kmm import env

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.boolean("KMM_DEBUG", False)

# The key signs the session cookie and keys the encryption of the token inside it, so a
# guessable one hands out sessions. Django's own bar (its check security.W009): 50 characters
# or more, 5 or more different ones, not a generated "django-insecure-" placeholder.
SECRET_KEY = env.string("KMM_SECRET_KEY")
MAKE_A_KEY = 'python3 -c "import secrets; print(secrets.token_urlsafe(50))"'
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "KMM_SECRET_KEY (or KMM_SECRET_KEY_FILE) is required unless KMM_DEBUG=true. "
            f"Make one with: {MAKE_A_KEY}"
        )
    SECRET_KEY = "kmm-development-only-not-secret"  # noqa: S105 - DEBUG only
elif not DEBUG and (len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
                    or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
                    or SECRET_KEY.startswith(SECRET_KEY_INSECURE_PREFIX)):
    raise ImproperlyConfigured(
        f"KMM_SECRET_KEY is too weak: use at least {SECRET_KEY_MIN_LENGTH} random characters "
        f"(it has {len(SECRET_KEY)}). Make one with: {MAKE_A_KEY}"
    )

ALLOWED_HOSTS = env.strings("KMM_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env.strings("KMM_CSRF_TRUSTED_ORIGINS")
# Debug safety is decided from addresses, not host names: runserver and gunicorn refuse
# KMM_DEBUG=true on a non-loopback bind, and DebugLoopbackOnlyMiddleware answers loopback
# clients only. The host check below just catches a debug setting copied into production.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "testserver"}
if DEBUG and not set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS:
    raise ImproperlyConfigured(
        "KMM_DEBUG=true is for local development only: it may not serve "
        f"{', '.join(sorted(set(ALLOWED_HOSTS) - LOOPBACK_HOSTS))}."
    )

INSTALLED_APPS = [
    "kmm",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "models_ui",
    "console",
    "public_api",
    "models_api",
]

MIDDLEWARE = [
    "kmm.middleware.DebugLoopbackOnlyMiddleware",
    "kmm.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kmm.htmx_messages.HtmxMessagesMiddleware",
    "kmm.middleware.KubeCallerMiddleware",
    "kmm.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "kmm.urls"
WSGI_APPLICATION = "kmm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
                "kmm.context_processors.frame",
                "models_ui.cluster_schema.crd_skew",
            ],
        },
    },
]

DATABASES: dict[str, dict[str, str]] = {}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Idle sessions end after KMM_SESSION_SECONDS (each use renews it), none lasts beyond
# KMM_SESSION_MAX_SECONDS, and sign-out is recorded for every replica (kmm.auth_sessions).
SESSION_COOKIE_AGE = env.integer("KMM_SESSION_SECONDS", 3600)
KMM_SESSION_MAX_SECONDS = env.integer("KMM_SESSION_MAX_SECONDS", 12 * 3600)
SESSION_COOKIE_SECURE = env.boolean("KMM_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Messages in their own cookie, so they never push the session cookie past 4 KB.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"

# Hardening. HSTS is sent on HTTPS requests only (Django's SecurityMiddleware);
# behind a TLS-terminating proxy set KMM_TRUST_X_FORWARDED_PROTO=true.
if env.boolean("KMM_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.integer("KMM_HSTS_SECONDS", 31536000)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_SAMESITE = "Lax"
# A model with ten 100 kB files is about 1 MB of form data; leave room, refuse more.
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# Proxies in front of kmm whose X-Forwarded-For names the client, for every throttle
# (kmm.addresses.client_address); the chart sets 1 when an ingress is enabled.
KMM_NUM_PROXIES = env.integer("KMM_NUM_PROXIES", 0)

REST_FRAMEWORK = {
    # No django.contrib.auth: identities come from Kubernetes (see kmm.middleware).
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "models_api.renderers.BrowsableAPIRenderer",
    ],
    # Service-layer errors become JSON with their status (models_api.errors).
    "EXCEPTION_HANDLER": "models_api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Proxies in front of kmm whose X-Forwarded-For names the client (kmm.addresses).
    "NUM_PROXIES": KMM_NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "kmm API",
    "DESCRIPTION": "Manage KubeAI Models (models.kubeai.org/v1) with your Kubernetes "
                   "identity, and read the public OpenRouter model list.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,  # "* `VLLM` - VLLM" says nothing
}

# Kubernetes: the cluster comes from the environment (in-cluster, KUBECONFIG,
# KMM_KUBE_CONTEXT, KMM_KUBE_TIMEOUT); see kube.cluster.Cluster.from_environment.
KMM_AUTH_MODE = env.choice("KMM_AUTH_MODE", "none" if DEBUG else "token",
                           ("token", "proxy", "none"))
KMM_PROXY_USER_HEADER = env.string("KMM_PROXY_USER_HEADER", "X-Forwarded-User")
KMM_PROXY_GROUPS_HEADER = env.string("KMM_PROXY_GROUPS_HEADER", "X-Forwarded-Groups")
KMM_PROXY_TRUSTED_CIDRS = env.cidrs("KMM_PROXY_TRUSTED_CIDRS")
if KMM_AUTH_MODE == "proxy" and not KMM_PROXY_TRUSTED_CIDRS:
    raise ImproperlyConfigured("KMM_AUTH_MODE=proxy needs KMM_PROXY_TRUSTED_CIDRS: the "
                               "addresses of the proxy whose user headers kmm may trust.")
# A range covering every address lets any client name any user; only when forced.
if any(cidr.split("/")[-1] == "0" for cidr in KMM_PROXY_TRUSTED_CIDRS if "/" in cidr) \
        and not env.boolean("KMM_PROXY_TRUST_ANY_ADDRESS", False):
    raise ImproperlyConfigured("KMM_PROXY_TRUSTED_CIDRS may not trust every address (0.0.0.0/0, "
                               "::/0): any client could name any user. List the proxy's "
                               "addresses, or set KMM_PROXY_TRUST_ANY_ADDRESS=true if nothing "
                               "but the proxy can reach kmm.")
# Groups the proxy may name (exact names). Empty: none, kmm impersonates the user alone.
# system:masters is never impersonated.
KMM_PROXY_ALLOWED_GROUPS = [g for g in env.strings("KMM_PROXY_ALLOWED_GROUPS")
                            if g != "system:masters"]

# Suggestions for the form's profile fields (KubeAI's default ResourceProfiles).
KMM_RESOURCE_PROFILES = env.strings(
    "KMM_RESOURCE_PROFILES",
    "cpu,nvidia-gpu-t4,nvidia-gpu-l4,nvidia-gpu-l40s,nvidia-gpu-h100,nvidia-gpu-gh200,"
    "nvidia-gpu-a100-80gb,nvidia-gpu-a100-40gb,nvidia-gpu-a16,nvidia-gpu-rtx4070-8gb,amd-gpu-mi300x",
)
KMM_CACHE_PROFILES = env.strings("KMM_CACHE_PROFILES")
# Namespaces offered to users who may not list namespaces cluster-wide.
KMM_NAMESPACES = env.strings("KMM_NAMESPACES")

# The public OpenRouter endpoint (README, "Publishing models").
KMM_PUBLISH_MODE = env.choice("KMM_PUBLISH_MODE", "annotation", ("annotation", "all", "namespaces"))
KMM_PUBLISH_NAMESPACES = env.strings("KMM_PUBLISH_NAMESPACES")
if KMM_PUBLISH_MODE == "namespaces" and not KMM_PUBLISH_NAMESPACES:
    raise ImproperlyConfigured("KMM_PUBLISH_MODE=namespaces needs KMM_PUBLISH_NAMESPACES.")
KMM_PUBLIC_RATE = env.rate("KMM_PUBLIC_RATE", "120/min")
KMM_PUBLIC_MAX_AGE = env.integer("KMM_PUBLIC_MAX_AGE", 30)

# /metrics answers on this port only (gunicorn listens on it too; the chart's Service
# exposes it apart from the UI's port). 0: on every port, for development.
KMM_METRICS_PORT = env.integer("KMM_METRICS_PORT", 9100)

# Where sign-outs are recorded for every replica (a ConfigMap in kmm's namespace; the
# chart creates it and lets kmm's ServiceAccount read and update that one object).
KMM_REVOCATION_CONFIGMAP = env.string("KMM_REVOCATION_CONFIGMAP", "kmm-revoked-sessions")
_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
KMM_REVOCATION_NAMESPACE = env.string(
    "KMM_NAMESPACE", _SA_NAMESPACE.read_text().strip() if _SA_NAMESPACE.exists() else "default")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("KMM_LOG_LEVEL", "INFO").upper()},
}
