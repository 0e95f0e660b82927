"""The record of signed-out sessions, one ConfigMap kmm's own identity keeps.

Sessions live in signed cookies (there is no database), so ending one everywhere needs a
record every replica reads: a ConfigMap in kmm's namespace mapping a hash of each revoked
session id to when its cookie would have expired anyway. It is small (expired entries are
pruned on each write), shared by every replica, survives restarts, and needs only
get/update on one named object (the chart creates it).
"""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client

from kube import errors
from kube.calls import call
from kube.cluster import Caller

MAX_ENTRIES = 20_000  # ~45 bytes each: well under a ConfigMap's 1 MiB


def read(caller: Caller, namespace: str, name: str) -> tuple[dict[str, float], str | None]:
    """The revoked session hashes with their expiry (Unix time), and the resourceVersion
    (None when the ConfigMap does not exist yet)."""
    api = client.CoreV1Api(caller.api)
    try:
        body: dict[str, Any] = call(caller, api.read_namespaced_config_map, name, namespace,
                                    verb="get", resource="configmaps", namespace=namespace,
                                    name=name, raw=True)
    except errors.NotFound:
        return {}, None
    data = body.get("data") or {}
    entries = {key: float(value) for key, value in data.items()
               if isinstance(value, str) and value.replace(".", "", 1).isdigit()}
    return entries, str(body["metadata"]["resourceVersion"])


def add(caller: Caller, namespace: str, name: str, key: str, expires: float) -> None:
    """Record one revoked session (optimistic concurrency: retried on a conflict)."""
    for _ in range(5):
        entries, version = read(caller, namespace, name)
        now = time.time()
        entries = {k: v for k, v in entries.items() if v > now}
        entries[key] = expires
        if len(entries) > MAX_ENTRIES:  # keep the latest-expiring ones
            entries = dict(sorted(entries.items(), key=lambda kv: kv[1])[-MAX_ENTRIES:])
        data = {k: f"{v:.0f}" for k, v in entries.items()}
        metadata: dict[str, str] = {"name": name, "namespace": namespace}
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}
        api = client.CoreV1Api(caller.api)
        try:
            if version is None:
                call(caller, api.create_namespaced_config_map, namespace, body, verb="create",
                     resource="configmaps", namespace=namespace, raw=True)
            else:
                metadata["resourceVersion"] = version
                call(caller, api.replace_namespaced_config_map, name, namespace, body,
                     verb="update", resource="configmaps", namespace=namespace, name=name,
                     raw=True)
            return
        except (errors.Conflict, errors.AlreadyExists):
            continue
    raise errors.Unavailable("The session revocation record kept changing; try again.")



