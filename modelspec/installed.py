"""The cluster's own models.kubeai.org CRD, compared with kmm's schema.

A cluster may run a newer KubeAI (fields and enum values kmm does not know) or
an older one (fields kmm knows that the cluster lacks). `Skew.of(crd)` reads the
installed CRD's OpenAPI schema and says what differs; `effective_model()` is
kmm's schema adjusted to the cluster: fields the cluster lacks are left out
(so the form hides them) and enum values the cluster allows are accepted.
Unknown fields need nothing here: every save is a merge patch of what the form
changed, so they are never dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelspec.schema import MODEL, VERSION, Node, props

VERSION_LABELS = ("app.kubernetes.io/version", "helm.sh/chart")


def _served_schema(crd: Mapping[str, Any]) -> Mapping[str, Any]:
    for version in (crd.get("spec") or {}).get("versions") or []:
        if version.get("name") == VERSION:
            return ((version.get("schema") or {}).get("openAPIV3Schema") or {})
    return {}


def _paths(schema: Mapping[str, Any], prefix: str = "") -> dict[str, Mapping[str, Any]]:
    """Every property path of an OpenAPI schema (items of arrays as `path[]`)."""
    out: dict[str, Mapping[str, Any]] = {}
    for name, child in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        out[path] = child
        out.update(_paths(child, path + "."))
        if isinstance(child.get("items"), Mapping):
            out.update(_paths(child["items"], path + "[]."))
    return out


def _node_paths(node: Node, prefix: str = "") -> dict[str, Node]:
    out: dict[str, Node] = {}
    for name, child in node.properties.items():
        path = f"{prefix}{name}"
        out[path] = child
        out.update(_node_paths(child, path + "."))
        if child.items is not None:
            out.update(_node_paths(child.items, path + "[]."))
    return out


@dataclass(frozen=True)
class Skew:
    """How the installed CRD differs from kmm's schema (paths below `spec`)."""

    found: bool
    version: str = ""
    unknown_fields: tuple[str, ...] = ()  # the cluster has them, kmm does not
    missing_fields: tuple[str, ...] = ()  # kmm has them, the cluster does not
    extra_enum_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, crd: Mapping[str, Any] | None, model: Node = MODEL) -> Skew:
        if not crd:
            return cls(found=False)
        installed = _served_schema(crd)
        theirs = _paths((installed.get("properties") or {}).get("spec") or {})
        ours = _node_paths(model.child("spec"))
        unknown = tuple(p for p in theirs if p not in ours)
        # Only the topmost unknown path of a subtree is worth naming.
        unknown = tuple(p for p in unknown
                        if not any(p.startswith(u + ".") or p.startswith(u + "[]")
                                   for u in unknown if u != p))
        missing = tuple(p for p in ours if p not in theirs
                        and not any(p.startswith(m + ".") or p.startswith(m + "[]")
                                    for m in ours if m != p and m not in theirs))
        extra: dict[str, tuple[str, ...]] = {}
        for path, node in ours.items():
            pairs = [(path, node, theirs.get(path) or {})]
            if node.items is not None:
                pairs.append((path + "[]", node.items, (theirs.get(path) or {}).get("items") or {}))
            for where, ours_node, their_schema in pairs:
                more = tuple(v for v in their_schema.get("enum") or [] if v not in ours_node.enum)
                if ours_node.enum and more:
                    extra[where] = more
        labels = (crd.get("metadata") or {}).get("labels") or {}
        version = next((str(labels[k]) for k in VERSION_LABELS if labels.get(k)), "")
        return cls(found=True, version=version or "not labelled", unknown_fields=unknown,
                   missing_fields=missing, extra_enum_values=extra)

    @property
    def differs(self) -> bool:
        return bool(self.unknown_fields or self.missing_fields or self.extra_enum_values)

    def effective_model(self, model: Node = MODEL) -> Node:
        """kmm's schema as this cluster accepts it."""
        if not self.found or not (self.missing_fields or self.extra_enum_values):
            return model
        spec = self._adjust(model.child("spec"), "")
        return dataclasses.replace(model, properties=props(**{**model.properties, "spec": spec}))

    def _adjust(self, node: Node, prefix: str) -> Node:
        children = {}
        for name, child in node.properties.items():
            path = f"{prefix}{name}"
            if path in self.missing_fields:
                continue
            child = self._adjust(child, path + ".")
            if child.items is not None:
                items = self._adjust(child.items, path + "[].")
                items = dataclasses.replace(
                    items, enum=items.enum + self.extra_enum_values.get(path + "[]", ()))
                child = dataclasses.replace(child, items=items)
            if path in self.extra_enum_values:
                child = dataclasses.replace(child, enum=child.enum + self.extra_enum_values[path])
            children[name] = child
        return dataclasses.replace(node, properties=props(**children),
                                   required=tuple(r for r in node.required if r in children))
