"""What every page's frame shows: the cluster context and who is signed in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

import kube
from kube.access import stale_age


def frame(request: HttpRequest) -> dict[str, Any]:
    signed_in = getattr(request, "signed_in", None)
    try:
        cluster = kube.default_cluster()
        context_name, server = cluster.context, cluster.server
    except kube.ConfigurationError:
        context_name, server = "not configured", ""
    return {
        "kube_context": context_name,
        "kube_server": server,
        "signed_in": signed_in,
        "auth_mode": settings.KMM_AUTH_MODE,
        # Seconds since the access answers this page used were checked, when the API server
        # could not be asked (pages that read the watch cache keep working meanwhile).
        "access_stale_seconds": stale_age(),
    }
