"""The project's own CustomResourceDefinition for models.kubeai.org, built from the schema.

`python -m modelspec.crd` prints it as YAML (the same file `make crd` writes to
devcluster/crd/models.kubeai.org.yaml for kubectl users).
"""

from __future__ import annotations

from typing import Any

from modelspec.schema import GROUP, KIND, MODEL, PLURAL, SINGULAR, VERSION, Node


def openapi(node: Node) -> dict[str, Any]:
    """The OpenAPI v3 (structural) schema of a node, as the API server expects it."""
    out: dict[str, Any] = {}
    if node.default is not None:
        out["default"] = node.default
    if node.description:
        out["description"] = node.description
    if node.enum:
        out["enum"] = list(node.enum)
    if node.format:
        out["format"] = node.format
    if node.items is not None:
        out["items"] = openapi(node.items)
    if node.additional_properties is not None:
        out["additionalProperties"] = openapi(node.additional_properties)
    if node.max_items is not None:
        out["maxItems"] = node.max_items
    if node.max_length is not None:
        out["maxLength"] = node.max_length
    if node.minimum is not None:
        out["minimum"] = node.minimum
    if node.pattern is not None:
        out["pattern"] = node.pattern
    if node.properties:
        out["properties"] = {name: openapi(child) for name, child in sorted(node.properties.items())}
    if node.required:
        out["required"] = sorted(node.required)
    out["type"] = node.type
    if node.map_type:
        out["x-kubernetes-map-type"] = node.map_type
    if node.preserve_unknown:
        out["x-kubernetes-preserve-unknown-fields"] = True
    cel_rules = [r for r in node.rules if r.cel]
    if cel_rules:
        out["x-kubernetes-validations"] = [{"message": r.message, "rule": r.cel} for r in cel_rules]
    return out


def crd_manifest(model: Node = MODEL) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "schema": {"openAPIV3Schema": openapi(model)},
                    "served": True,
                    "storage": True,
                    "subresources": {
                        "scale": {
                            "specReplicasPath": ".spec.replicas",
                            "statusReplicasPath": ".status.replicas.all",
                        },
                        "status": {},
                    },
                }
            ],
        },
    }


if __name__ == "__main__":
    import yaml

    print(yaml.safe_dump(crd_manifest(), sort_keys=False, width=100), end="")
