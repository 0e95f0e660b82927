"""Installing and checking CustomResourceDefinitions (used by the local control plane)."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kube import errors
from kube.calls import call, list_all
from kube.cluster import CONNECT_TIMEOUT_SECONDS, Caller

CRDS = "customresourcedefinitions.apiextensions.k8s.io"
log = logging.getLogger(__name__)


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


class InstalledCRD:
    """One CRD as the cluster has it: read once, then kept current by a watch.

    Readers get the last object seen (or None: not installed, not readable, or not
    read yet) without waiting. A failed read or watch is retried with backoff; a
    caller that may not read CRDs simply leaves it None.
    """

    def __init__(self, caller: Caller, name: str):
        self.caller, self.name = caller, name
        self.crd: dict[str, Any] | None = None
        self.read = threading.Event()
        self.failed = False
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"crd-{name}", daemon=True)

    def start(self) -> InstalledCRD:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        api = client.ApiextensionsV1Api(self.caller.api)
        pause = 0.5
        while not self.stopping.is_set():
            try:
                items, metadata = list_all(self.caller, api.list_custom_resource_definition,
                                           resource=CRDS,
                                           field_selector=f"metadata.name={self.name}")
                self.crd = items[0] if items else None
                self.read.set()
                self._watch(api, str(metadata.get("resourceVersion") or ""))
                pause = 0.5
            except (errors.KubeError, ApiException, urllib3.exceptions.HTTPError, OSError,
                    ValueError) as exc:
                # Said once; the retries are quiet (the cluster may simply be gone).
                (log.debug if self.failed else log.warning)(
                    "reading CRD %s failed (%s); retrying in %.0fs", self.name, exc, pause)
                self.failed = True
                self.read.set()
                self.stopping.wait(pause)
                pause = min(30.0, pause * 2)

    def _watch(self, api: client.ApiextensionsV1Api, resource_version: str) -> None:
        response: Any = api.list_custom_resource_definition(
            field_selector=f"metadata.name={self.name}", watch=True,
            resource_version=resource_version, timeout_seconds=WATCH_SECONDS,
            _preload_content=False,
            _request_timeout=(CONNECT_TIMEOUT_SECONDS, WATCH_SECONDS + 30))
        try:
            for line in response:  # one JSON event per line
                if self.stopping.is_set():
                    return
                if line.strip():
                    event = json.loads(line)
                    kind = event.get("type")
                    if kind in ("ADDED", "MODIFIED"):
                        self.crd = event.get("object")
                    elif kind == "DELETED":
                        self.crd = None
                    elif kind == "ERROR":
                        return  # e.g. 410 Gone: list again
        finally:
            response.close()
            response.release_conn()


WATCH_SECONDS = 240
_installed: dict[str, InstalledCRD] = {}
_installed_lock = threading.Lock()


def installed_crd(caller: Caller, name: str, wait: float = 0.0) -> dict[str, Any] | None:
    """The CRD `name` as installed (watched from the first call on, per process)."""
    with _installed_lock:
        watcher = _installed.get(name)
        if watcher is None or watcher.caller.cluster is not caller.cluster:
            if watcher is not None:
                watcher.stop()
            watcher = _installed[name] = InstalledCRD(caller, name).start()
    if wait:
        watcher.read.wait(wait)
    return watcher.crd
