"""Read-only views of a Model object for templates and the change list (no Kubernetes calls)."""

from __future__ import annotations

import datetime
from functools import cached_property
from typing import Any

import yaml

from modelspec.listing import is_published
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
        # Why replicas are not ready, from KubeAI's pods (set by the views from the pod watch
        # cache, see models_ui.data.explain_not_ready).
        self.not_ready_reason: str | None = None

    @property
    def key(self) -> str:
        """namespace/name: how the bulk action names a model."""
        return f"{self.namespace}/{self.name}"

    @property
    def dom_id(self) -> str:
        """namespace/name as a valid CSS identifier, for element ids used as selectors
        (htmx looks preserved elements up by `#id`): names may hold dots, which a
        selector reads as a class. Neither part may contain "_", so the mapping is one to one."""
        return f"{self.namespace}__{self.name.replace('.', '_')}"

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
    def wanted_replicas(self) -> int:
        """What KubeAI will run: spec.replicas (which it sets itself), never below
        minReplicas while it autoscales; minReplicas alone before its first write."""
        desired, minimum = self.desired_replicas, self.min_replicas or 0
        if desired is None:
            return minimum
        return desired if self.spec.get("autoscalingDisabled") else max(desired, minimum)

    @property
    def state(self) -> str:
        """Ready: every replica ready; scaled to zero: nothing wanted or running;
        scaling: some ready, or the count is moving; not ready: wanted but none ready."""
        desired = self.desired_replicas
        running, ready = self.all_replicas, self.ready_replicas
        if self.wanted_replicas == 0 and running == 0:
            return SCALED_TO_ZERO
        if ready > 0 and ready == running and (desired is None or desired == running):
            return READY
        if ready > 0 or (desired is not None and desired != running and running > 0):
            return SCALING
        return NOT_READY

    @property
    def state_label(self) -> str:
        return STATES[self.state]

    @property
    def state_reason(self) -> str:
        """Why the state is what it is, in words (shown on hover)."""
        desired = self.desired_replicas
        reason = f"{self.ready_replicas} of {self.all_replicas} replicas ready"
        if desired is not None:
            reason += f"; {desired} wanted (spec.replicas)"
        else:
            reason += f"; KubeAI scales between {self.min_replicas or 0} and " \
                      f"{self.max_replicas if self.max_replicas is not None else 'any number'}"
        if self.cache_loaded is False:
            reason += "; the model cache is still loading"
        return reason

    @cached_property
    def published(self) -> bool:
        """Whether /public/api/models lists this model under the configured publication mode."""
        from django.conf import settings

        return is_published(self.obj, settings.KMM_PUBLISH_MODE, settings.KMM_PUBLISH_NAMESPACES)

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
