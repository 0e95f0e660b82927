"""Preset models in the shape of KubeAI's models chart values (the `catalog:` map).

KMM_CATALOG names the file (the chart mounts a ConfigMap there); without it kmm offers
its own small default catalog (console/catalog/default.yaml).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelspec.schema import API_VERSION, KIND, SPEC

Obj = dict[str, Any]
DEFAULT_CATALOG = Path(__file__).resolve().parent / "catalog" / "default.yaml"
MAX_CATALOG_BYTES = 2 * 1024 * 1024
SPEC_KEYS = frozenset(SPEC.properties)


class CatalogError(Exception):
    pass


@dataclass(frozen=True)
class Preset:
    name: str
    values: Obj

    @property
    def spec(self) -> Obj:
        return {k: v for k, v in self.values.items() if k in SPEC_KEYS}

    @property
    def engine(self) -> str:
        return str(self.values.get("engine", ""))

    @property
    def url(self) -> str:
        return str(self.values.get("url", ""))

    @property
    def features(self) -> list[str]:
        return [str(f) for f in self.values.get("features") or []]

    @property
    def resource_profile(self) -> str:
        return str(self.values.get("resourceProfile", ""))

    @property
    def args(self) -> list[str]:
        return [str(a) for a in self.values.get("args") or []]

    @property
    def env(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.values.get("env") or {}).items()}

    def matches(self, query: str) -> bool:
        haystack = " ".join([self.name, self.engine, self.url, self.resource_profile,
                             *self.features]).lower()
        return all(word in haystack for word in query.lower().split())

    def to_model(self, namespace: str) -> Obj:
        """The Model the chart would render for this entry (metadata.name = the key)."""
        metadata: Obj = {"name": self.name, "namespace": namespace}
        for key in ("labels", "annotations"):
            if self.values.get(key):
                metadata[key] = {str(k): str(v) for k, v in self.values[key].items()}
        spec = dict(self.spec)
        if "env" in spec:
            spec["env"] = {str(k): str(v) for k, v in (spec["env"] or {}).items()}
        return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


def catalog_path() -> Path:
    raw = os.environ.get("KMM_CATALOG", "").strip()
    return Path(raw) if raw else DEFAULT_CATALOG


def load_catalog(path: Path | None = None) -> list[Preset]:
    """The presets, sorted by name; CatalogError with a readable reason when the file is bad."""
    path = path or catalog_path()
    try:
        if path.stat().st_size > MAX_CATALOG_BYTES:
            raise CatalogError(f"{path} is larger than {MAX_CATALOG_BYTES // 1024} KiB.")
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise CatalogError(f"The catalog {path} cannot be read: {exc.strerror or exc}.") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"The catalog {path} is not valid YAML: {exc}") from None
    entries = (data or {}).get("catalog") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise CatalogError(f"The catalog {path} has no `catalog:` map.")
    return sorted((Preset(str(name), values) for name, values in entries.items()
                   if isinstance(values, dict)), key=lambda p: p.name)


def find_preset(name: str) -> Preset | None:
    return next((p for p in load_catalog() if p.name == name), None)
