"""Read-only views of a Model object for templates and the change list (no Kubernetes calls)."""

from __future__ import annotations

import datetime
from functools import cached_property
from typing import Any

import yaml

from modelspec.objects import SERVER_FIELDS, strip_server_fields

READY, SCALING, SCALED_TO_ZERO, NOT_READY = "ready", "scaling", "scaled-to-zero", "not-ready"
STATES = {
    READY: "Ready",
    SCALING: "Scaling",
    SCALED_TO_ZERO: "Scaled to zero",
    NOT_READY: "Not ready",
}


class ModelRow:
    """One Model as the pages show it. Pure: built from the object alone."""

    def __init__(self, obj: dict[str, Any]):
        self.obj = obj
        self.metadata: dict[str, Any] = obj.get("metadata") or {}
        self.spec: dict[str, Any] = obj.get("spec") or {}
        self.status: dict[str, Any] = obj.get("status") or {}

    @property
    def key(self) -> str:
        """namespace/name: how the bulk action names a model."""
        return f"{self.namespace}/{self.name}"

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def resource_version(self) -> str:
        return str(self.metadata.get("resourceVersion", ""))

    @property
    def engine(self) -> str:
        return str(self.spec.get("engine", ""))

    @property
    def features(self) -> list[str]:
        return [str(f) for f in self.spec.get("features") or []]

    @property
    def url(self) -> str:
        return str(self.spec.get("url", ""))

    @property
    def resource_profile(self) -> str:
        return str(self.spec.get("resourceProfile", ""))

    @property
    def profile_name(self) -> str:
        return self.resource_profile.partition(":")[0]

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.metadata.get("labels") or {})

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.metadata.get("annotations") or {})

    @property
    def ready_replicas(self) -> int:
        return int((self.status.get("replicas") or {}).get("ready") or 0)

    @property
    def all_replicas(self) -> int:
        return int((self.status.get("replicas") or {}).get("all") or 0)

    @property
    def desired_replicas(self) -> int | None:
        value = self.spec.get("replicas")
        return int(value) if value is not None else None

    @property
    def min_replicas(self) -> int | None:
        value = self.spec.get("minReplicas")
        return int(value) if value is not None else None

    @property
    def max_replicas(self) -> int | None:
        value = self.spec.get("maxReplicas")
        return int(value) if value is not None else None

    @property
    def cache_loaded(self) -> bool | None:
        cache = self.status.get("cache")
        return None if cache is None else bool(cache.get("loaded"))

    @property
    def state(self) -> str:
        """Ready: every replica ready; scaled to zero: nothing wanted or running;
        scaling: some ready, or the count is moving; not ready: wanted but none ready."""
        desired = self.desired_replicas
        running, ready = self.all_replicas, self.ready_replicas
        if not desired and running == 0:
            return SCALED_TO_ZERO
        if ready > 0 and ready == running and (desired is None or desired == running):
            return READY
        if ready > 0 or (desired is not None and desired != running and running > 0):
            return SCALING
        return NOT_READY

    @property
    def state_label(self) -> str:
        return STATES[self.state]

    @cached_property
    def created(self) -> datetime.datetime | None:
        stamp = self.metadata.get("creationTimestamp")
        if not stamp:
            return None
        return datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))

    @property
    def created_sort_key(self) -> str:
        return str(self.metadata.get("creationTimestamp", ""))

    @cached_property
    def yaml(self) -> str:
        return to_yaml(self.obj)


def to_yaml(obj: dict[str, Any]) -> str:
    """YAML of an object as an operator wants to read it: no managedFields."""
    shown = strip_server_fields(obj, keep=[f for f in SERVER_FIELDS
                                           if f != "metadata.managedFields"])
    return yaml.safe_dump(shown, sort_keys=False, default_flow_style=False, width=100)
