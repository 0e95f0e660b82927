"""KubeAI's catalog of real Model specs (charts/models/values.yaml), read from the shared
reference folder when it is there (`shared/kubeai/` beside the checkout, or above it)."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def catalog_path() -> Path | None:
    if os.environ.get("KMM_KUBEAI_CATALOG"):
        return Path(os.environ["KMM_KUBEAI_CATALOG"])
    for folder in ROOT.parents:
        candidate = folder / "shared" / "kubeai" / "models-catalog-values.yaml"
        if candidate.exists():
            return candidate
    return None


def catalog_models(namespace: str) -> list[dict[str, Any]]:
    """Every catalog entry as the Model KubeAI's chart makes of it (skip when absent).

    The chart writes `owner: ""` when no owner is given, as KubeAI's own objects have it.
    """
    path = catalog_path()
    if path is None or not path.exists():
        pytest.skip("KubeAI's models-catalog-values.yaml is not available")
    catalog = yaml.safe_load(path.read_text())["catalog"]
    models = []
    for name, entry in catalog.items():
        spec = {k: copy.deepcopy(v) for k, v in entry.items() if k != "enabled"}
        spec.setdefault("owner", "")
        models.append({"apiVersion": "kubeai.org/v1", "kind": "Model",
                       "metadata": {"name": name, "namespace": namespace}, "spec": spec})
    return models
