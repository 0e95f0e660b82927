"""Installing and checking CustomResourceDefinitions (used by the local control plane)."""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kube import errors
from kube.calls import call
from kube.cluster import CONNECT_TIMEOUT_SECONDS, Caller

CRDS = "customresourcedefinitions.apiextensions.k8s.io"


def apply_crd(caller: Caller, manifest: dict[str, Any]) -> None:
    """Create the CRD, or replace it in place when it already exists."""
    api = client.ApiextensionsV1Api(caller.api)
    name = manifest["metadata"]["name"]
    try:
        call(caller, api.create_custom_resource_definition, manifest, verb="create",
             resource=CRDS, name=name, raw=True)
    except errors.AlreadyExists:
        current = call(caller, api.read_custom_resource_definition, name, verb="get",
                       resource=CRDS, name=name, raw=True)
        body = dict(manifest, metadata=dict(manifest["metadata"],
                                            resourceVersion=current["metadata"]["resourceVersion"]))
        call(caller, api.replace_custom_resource_definition, name, body, verb="update",
             resource=CRDS, name=name, raw=True)


def crd_established(caller: Caller, name: str) -> bool:
    api = client.ApiextensionsV1Api(caller.api)
    crd = call(caller, api.read_custom_resource_definition, name, verb="get", resource=CRDS,
               name=name, raw=True)
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def wait_established(caller: Caller, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not crd_established(caller, name):
        if time.monotonic() > deadline:
            raise errors.Unavailable(f"CRD {name} was not Established after {timeout:.0f}s.")
        time.sleep(0.1)


def wait_watchable(caller: Caller, group: str, version: str, plural: str,
                   timeout: float = 30.0) -> None:
    """Wait until a watch of the resource is served.

    An Established CRD can still answer watches with 429 "storage is (re)initializing"
    for a moment while the API server's watch cache fills; clients started in that
    window see a spurious failure.
    """
    api = client.CustomObjectsApi(caller.api)
    deadline = time.monotonic() + timeout
    while True:
        try:
            response: Any = api.list_cluster_custom_object(
                group, version, plural, watch=True, timeout_seconds=1,
                _preload_content=False, _request_timeout=(CONNECT_TIMEOUT_SECONDS, 5))
        except ApiException as exc:
            if exc.status != 429 or time.monotonic() > deadline:
                raise errors.Unavailable(
                    f"watching {plural}.{group} failed: {exc.status} {exc.reason}") from None
            time.sleep(0.1)
            continue
        response.close()
        response.release_conn()
        return
