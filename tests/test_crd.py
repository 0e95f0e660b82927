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


# kmm follows kubeai-project/kubeai up to #661 (squash commit bc9b4407, oci:// URLs). Since
# v0.22.1 the Model schema changed only on spec.url: a pattern (#656) and oci:// in its rule.
URL_PATTERN_656 = r"^([a-z0-9]+):\/\/([a-zA-Z0-9._:/-]+)(\?.*)?$"
URL_RULE_661 = {
    "message": 'url must start with "oci://", "hf://", "pvc://", "ollama://", "s3://", '
               '"gs://", or "oss://" and not be empty.',
    "rule": 'self.startsWith("oci://") || self.startsWith("hf://") || self.startsWith("pvc://")'
            ' || self.startsWith("ollama://") || self.startsWith("s3://") ||'
            ' self.startsWith("gs://") || self.startsWith("oss://")',
}


def url_node(crd: dict[str, Any]) -> dict[str, Any]:
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    node: dict[str, Any] = spec["properties"]["url"]
    return node


def test_the_url_rule_and_pattern_are_upstreams() -> None:
    ours = url_node(crd_manifest())
    assert ours["x-kubernetes-validations"] == [URL_RULE_661]
    assert ours["pattern"] == URL_PATTERN_656


@pytest.mark.skipif(not UPSTREAM.exists(), reason="upstream KubeAI CRD not available")
def test_our_crd_matches_upstream_structurally() -> None:
    """Upstream here is v0.22.1: all but spec.url's pattern and oci:// clause must agree."""
    upstream = yaml.safe_load(UPSTREAM.read_text())
    ours = crd_manifest()
    assert ours["metadata"]["name"] == upstream["metadata"]["name"]
    upstream_rule, = url_node(upstream)["x-kubernetes-validations"]
    assert URL_RULE_661["rule"].replace('self.startsWith("oci://") || ', "") == \
        " ".join(upstream_rule["rule"].split())
    assert "pattern" not in url_node(upstream)
    del url_node(ours)["pattern"]
    url_node(ours)["x-kubernetes-validations"] = url_node(upstream)["x-kubernetes-validations"]
    assert structure(ours["spec"]) == structure(upstream["spec"])


def test_the_crd_round_trips_through_yaml() -> None:
    manifest = crd_manifest()
    assert yaml.safe_load(yaml.safe_dump(manifest)) == manifest
    schema = manifest["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert schema["properties"]["spec"]["required"] == [
        "engine", "features", "scaleDownDelaySeconds", "targetRequests", "url"]
