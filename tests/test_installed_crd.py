"""kmm's schema against the cluster's installed CRD: newer and older KubeAI (pure)."""

from __future__ import annotations

import copy
from typing import Any

from models_ui.forms import ModelEditForm
from modelspec.crd import crd_manifest
from modelspec.installed import Skew
from modelspec.validation import validate


def newer_crd() -> dict[str, Any]:
    """kmm's CRD as a newer KubeAI might ship it: a new field, a new engine."""
    crd = copy.deepcopy(crd_manifest())
    crd["metadata"]["labels"] = {"app.kubernetes.io/version": "v0.23.0"}
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["engine"]["enum"].append("SGLang")
    spec["properties"]["features"]["items"]["enum"].append("ImageGeneration")
    spec["properties"]["schedulerHints"] = {"type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True}
    return crd


def older_crd() -> dict[str, Any]:
    crd = copy.deepcopy(crd_manifest())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    del spec["properties"]["priorityClassName"]
    del spec["properties"]["envFrom"]
    return crd


def test_it_names_what_a_newer_crd_adds() -> None:
    skew = Skew.of(newer_crd())
    assert skew.version == "v0.23.0"
    assert skew.unknown_fields == ("schedulerHints",)
    assert skew.extra_enum_values == {"engine": ("SGLang",), "features[]": ("ImageGeneration",)}
    assert skew.missing_fields == ()


def test_the_form_accepts_enum_values_the_cluster_allows() -> None:
    model = Skew.of(newer_crd()).effective_model()
    body = {"apiVersion": "kubeai.org/v1", "kind": "Model",
            "metadata": {"name": "m", "namespace": "n"},
            "spec": {"url": "hf://o/m", "engine": "SGLang", "features": ["ImageGeneration"]}}
    assert validate(body, model=model) == []
    assert [e.path for e in validate(body)] == ["spec.engine", "spec.features[0]"]
    form = ModelEditForm(model=model)
    assert ("SGLang", "SGLang") in form.fields["engine"].choices  # type: ignore[attr-defined]


def test_an_older_crd_hides_the_fields_the_cluster_lacks() -> None:
    skew = Skew.of(older_crd())
    assert set(skew.missing_fields) == {"priorityClassName", "envFrom"}
    form = ModelEditForm(model=skew.effective_model())
    assert "priorityClassName" not in form.fields
    assert "envFrom" not in form.formsets
    assert "priorityClassName" in ModelEditForm().fields


def test_the_same_crd_differs_in_nothing() -> None:
    skew = Skew.of(crd_manifest())
    assert skew.found
    assert not skew.differs
