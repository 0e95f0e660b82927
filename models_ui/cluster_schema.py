"""kmm's schema as the cluster's installed CRD accepts it (see modelspec.installed).

The CRD is read with kmm's own identity and watched (kube.installed_crd), so a
KubeAI upgrade shows without a restart. Without a cluster, or when the CRD
cannot be read, kmm's own schema applies.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

import kube
from modelspec.installed import Skew
from modelspec.schema import MODEL, RESOURCE, Node

FIRST_READ_SECONDS = 2.0


def cluster_skew() -> Skew:
    try:
        caller = kube.default_cluster().as_app()
    except kube.ConfigurationError:
        return Skew(found=False)
    crd = kube.installed_crd(caller, RESOURCE, wait=FIRST_READ_SECONDS)
    if not crd:
        return Skew(found=False)
    metadata = crd.get("metadata") or {}
    key = (str(metadata.get("uid")), str(metadata.get("resourceVersion")))
    if key not in _skews:
        _skews.clear()  # only the current version is worth keeping
        _skews[key] = Skew.of(crd)
    return _skews[key]


_skews: dict[tuple[str, str], Skew] = {}


def cluster_model() -> Node:
    return cluster_skew().effective_model(MODEL)


def crd_skew(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the banner saying how the cluster's CRD differs from kmm's."""
    if not getattr(request, "kube", None):
        return {}
    return {"crd_skew": cluster_skew()}
