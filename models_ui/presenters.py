"""Read-only views of a Model object for templates (no Kubernetes calls here)."""

from __future__ import annotations

import datetime
from functools import cached_property
from typing import Any


class ModelRow:
    def __init__(self, obj: dict[str, Any]):
        self.obj = obj
        self.metadata: dict[str, Any] = obj.get("metadata") or {}
        self.spec: dict[str, Any] = obj.get("spec") or {}
        self.status: dict[str, Any] = obj.get("status") or {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def engine(self) -> str:
        return str(self.spec.get("engine", ""))

    @property
    def features(self) -> list[str]:
        return list(self.spec.get("features") or [])

    @property
    def url(self) -> str:
        return str(self.spec.get("url", ""))

    @property
    def resource_profile(self) -> str:
        return str(self.spec.get("resourceProfile", ""))

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
        return self.spec.get("minReplicas")

    @property
    def max_replicas(self) -> int | None:
        return self.spec.get("maxReplicas")

    @property
    def cache_loaded(self) -> bool | None:
        cache = self.status.get("cache")
        return None if cache is None else bool(cache.get("loaded"))

    @cached_property
    def created(self) -> datetime.datetime | None:
        stamp = self.metadata.get("creationTimestamp")
        if not stamp:
            return None
        return datetime.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
