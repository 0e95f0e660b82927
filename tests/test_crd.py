"""The project's own CRD matches KubeAI's (when ../shared/kubeai is there to compare)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from modelspec.crd import crd_manifest

UPSTREAM = Path(__file__).resolve().parents[2] / "shared" / "kubeai" / "kubeai.org_models.yaml"


def structure(node: Any) -> Any:
    """Everything the API server enforces; descriptions are documentation only."""
    if isinstance(node, dict):
        return {k: structure(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [structure(v) for v in node]
    return node


def url_rules(crd: dict[str, Any]) -> list[Any]:
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return spec["properties"]["url"]["x-kubernetes-validations"]


@pytest.mark.skipif(not UPSTREAM.exists(), reason="upstream KubeAI CRD not available")
def test_our_crd_matches_upstream_structurally() -> None:
    """Upstream here is v0.22.1; kmm follows v0.23, whose only change is oci:// URLs."""
    upstream = yaml.safe_load(UPSTREAM.read_text())
    ours = crd_manifest()
    assert ours["metadata"]["name"] == upstream["metadata"]["name"]
    ours_rule, = url_rules(ours)
    assert ours_rule["rule"] == url_rules(upstream)[0]["rule"] + ' || self.startsWith("oci://")'
    url_rules(ours)[:] = url_rules(upstream)
    assert structure(ours["spec"]) == structure(upstream["spec"])


def test_the_crd_round_trips_through_yaml() -> None:
    manifest = crd_manifest()
    assert yaml.safe_load(yaml.safe_dump(manifest)) == manifest
    schema = manifest["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert schema["properties"]["spec"]["required"] == [
        "engine", "features", "scaleDownDelaySeconds", "targetRequests", "url"]
