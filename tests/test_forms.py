"""The model form and the YAML form as pure Django forms (no cluster): derived from the
schema, every error in one round, rows matched to what they were loaded from."""

from __future__ import annotations

import dataclasses
from typing import Any

from models_ui.forms import FIELDSETS, ROW_KINDS, ModelEditForm
from models_ui.yaml_form import YamlForm
from modelspec.schema import MODEL, SPEC, Node, locked_fields, props

ROW_PREFIXES = tuple(ROW_KINDS)


def stored(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "kubeai.org/v1", "kind": "Model",
            "metadata": {"name": "llama-3.1-8b", "namespace": "team-a", "resourceVersion": "7"},
            "spec": {"url": "hf://meta-llama/Llama-3.1-8B", "engine": "VLLM",
                     "features": ["TextGeneration"], **spec}}


def post(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "llama-3.1-8b", "namespace": "team-a",
                            "url": "hf://meta-llama/Llama-3.1-8B", "engine": "VLLM",
                            "features": ["TextGeneration"]}
    for prefix in ROW_PREFIXES:
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    data.update(fields)
    return data


def rows(prefix: str, *items: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {f"{prefix}-TOTAL_FORMS": str(len(items)), f"{prefix}-INITIAL_FORMS": "0"}
    for index, item in enumerate(items):
        data.update({f"{prefix}-{index}-{key}": value for key, value in item.items()})
    return data


class TestOneRound:
    def test_it_reports_field_errors_and_rule_errors_together(self) -> None:
        data = post(listing_context_length="lots", minReplicas="3", maxReplicas="1",
                    engine="OLlama", **rows("adapters", {"name": "a", "url": "hf://o/a"}),
                    **rows("files", {"path": "/a", "content": "x"},
                           {"path": "/a", "content": "y"}))
        form = ModelEditForm(data)
        assert not form.is_valid()
        assert "Must be a whole number" in str(form.errors["listing_context_length"])
        assert "less than or equal to maxReplicas" in str(form.errors["minReplicas"])
        assert "only supported with VLLM" in " ".join(form.row_errors["adapters"])
        assert "file paths must be unique" in " ".join(form.row_errors["files"])

    def test_the_summary_lists_every_error_with_a_link(self) -> None:
        form = ModelEditForm(post(listing_context_length="lots", minReplicas="3",
                                  maxReplicas="1", url=""))
        assert not form.is_valid()
        summary = form.error_summary()
        where = {label: anchor for label, _, anchor in summary}
        assert where["URL"] == "id_url"
        assert where["Min replicas"] == "id_minReplicas"
        assert where["Context length (tokens)"] == "id_listing_context_length"
        assert len(summary) == 3

    def test_a_field_that_failed_its_own_check_is_not_reported_twice(self) -> None:
        form = ModelEditForm(post(url=""))
        assert not form.is_valid()
        assert form.errors["url"] == ["This field is required."]

    def test_a_bad_row_does_not_hide_the_rules(self) -> None:
        data = post(minReplicas="2", maxReplicas="1",
                    **rows("labels", {"key": "bad key!", "value": "x"}))
        form = ModelEditForm(data)
        assert not form.is_valid()
        assert "minReplicas" in form.errors
        labels = form.formsets["labels"].forms[0]
        assert "key" in labels.errors


class TestRowsKeepWhatTheyCameFrom:
    def test_deleting_an_env_from_row_keeps_the_next_sources_extra_keys(self) -> None:
        base = stored(envFrom=[
            {"configMapRef": {"name": "first", "x-extra": "one"}, "prefix": "A_"},
            {"secretRef": {"name": "second", "x-extra": "two"}, "x-unknown": True}])
        initial = ModelEditForm(base=base).initial_rows("envFrom")
        assert [row["origin"] for row in initial] == ["0", "1"]
        kept = {k: v for k, v in initial[1].items() if v not in ("", False)}
        form = ModelEditForm(post(**rows("envFrom", kept)), base=base)
        assert form.is_valid(), form.errors
        assert form.to_object()["spec"]["envFrom"] == [
            {"secretRef": {"name": "second", "x-extra": "two"}, "x-unknown": True}]

    def test_renaming_an_adapter_keeps_its_unknown_keys(self) -> None:
        base = stored(adapters=[{"name": "a", "url": "hf://o/a", "x-new": 1}])
        form = ModelEditForm(post(**rows("adapters", {"name": "b", "url": "hf://o/a",
                                                      "origin": "0"})), base=base)
        assert form.is_valid(), form.errors
        assert form.to_object()["spec"]["adapters"] == [{"name": "b", "url": "hf://o/a",
                                                         "x-new": 1}]

    def test_an_origin_outside_the_stored_list_is_a_new_item(self) -> None:
        form = ModelEditForm(post(**rows("adapters", {"name": "b", "url": "hf://o/a",
                                                      "origin": "9"})), base=stored())
        assert form.is_valid(), form.errors
        assert form.to_object()["spec"]["adapters"] == [{"name": "b", "url": "hf://o/a"}]


class TestDerivedFromTheSchema:
    def test_every_scalar_spec_field_has_a_form_field_in_a_fieldset(self) -> None:
        shown = {name for fieldset in FIELDSETS for name in fieldset.fields}
        form = ModelEditForm()
        for name in ("url", "engine", "loadBalancing__prefixHash__replication", "replicas"):
            assert name in shown
            assert name in form.fields

    def test_locked_fields_come_from_the_transition_rules(self) -> None:
        form = ModelEditForm(base=stored(cacheProfile="fast"))
        assert set(form.readonly_reasons) == {
            "url", "cacheProfile", "loadBalancing__prefixHash__replication"}
        assert form.readonly_reasons["url"] == locked_fields({"cacheProfile": "x"})["url"]


class TestYamlMode:
    def test_a_mistyped_listing_annotation_is_refused(self) -> None:
        text = ("apiVersion: kubeai.org/v1\nkind: Model\nmetadata:\n  name: m\n"
                "  namespace: team-a\n  annotations:\n    openrouter.kmm.io/contxt-length: '8192'\n"
                "spec:\n  url: hf://o/m\n  engine: VLLM\n  features: [TextGeneration]\n")
        form = YamlForm({"text": text})
        assert not form.is_valid()
        line, problem = form.problems[0]
        assert problem.path == "metadata.annotations[openrouter.kmm.io/contxt-length]"
        assert line == 7

    def test_a_bad_listing_value_is_refused(self) -> None:
        text = ("apiVersion: kubeai.org/v1\nkind: Model\nmetadata:\n  name: m\n"
                "  namespace: team-a\n  annotations:\n    openrouter.kmm.io/context-length: lots\n"
                "spec:\n  url: hf://o/m\n  engine: VLLM\n  features: [TextGeneration]\n")
        form = YamlForm({"text": text})
        assert not form.is_valid()
        assert "whole number" in form.problems[0][1].message


def with_spec_field(name: str, node: Node) -> Node:
    """A test copy of the schema with one more spec field."""
    spec = dataclasses.replace(SPEC, properties=props(**SPEC.properties, **{name: node}))
    return dataclasses.replace(MODEL, properties=props(**{**MODEL.properties, "spec": spec}))


class TestAFieldAddedToTheSchema:
    """Adding a field to the schema is the only edit needed to show, check and send it."""

    NEW = Node("integer", label="GPU memory (GiB)", minimum=1, section="resources",
               description="GPU memory each replica needs.")

    def test_it_appears_in_the_form_in_its_section(self) -> None:
        model = with_spec_field("gpuMemory", self.NEW)
        form = ModelEditForm(post(gpuMemory="24"), model=model)
        resources = next(f for f in form.fieldsets if f.slug == "resources")
        assert "gpuMemory" in resources.fields
        assert form.is_valid(), form.errors
        assert form.to_object()["spec"]["gpuMemory"] == 24

    def test_its_rules_are_checked_by_the_form_and_validation(self) -> None:
        model = with_spec_field("gpuMemory", self.NEW)
        form = ModelEditForm(post(gpuMemory="0"), model=model)
        assert not form.is_valid()
        assert "gpuMemory" in form.errors
        body = stored(gpuMemory=0)
        from modelspec.validation import validate
        assert [e.path for e in validate(body, model=model)] == ["spec.gpuMemory"]
        assert validate(stored(gpuMemory=0)) == []  # the real schema does not know it

    def test_it_appears_in_the_crd_and_the_serializer(self) -> None:
        from models_api.serializers import serializer_for
        from modelspec.crd import crd_manifest
        model = with_spec_field("gpuMemory", self.NEW)
        schema = crd_manifest(model)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert schema["properties"]["spec"]["properties"]["gpuMemory"] == {
            "description": "GPU memory each replica needs.", "minimum": 1, "type": "integer"}
        fields = serializer_for(model.child("spec"), "Spec")().fields
        assert fields["gpuMemory"].min_value == 1

    def test_a_list_of_objects_gets_rows(self) -> None:
        item = Node("object", required=("name",), properties=props(
            name=Node("string", label="Name"), size=Node("integer", label="Size")))
        model = with_spec_field("volumes", Node("array", label="Volumes", items=item,
                                                section="files"))
        form = ModelEditForm(post(**rows("volumes", {"name": "cache", "size": "2"})),
                             model=model)
        assert "volumes" in next(f for f in form.fieldsets if f.slug == "files").rows
        assert form.is_valid(), form.errors
        assert form.to_object()["spec"]["volumes"] == [{"name": "cache", "size": 2}]


class TestNewerOpenRouterFields:
    GOOD = {"listing_is_free": "true", "listing_discount_to_user": "-0.1",
            "listing_capacity_tpm": "500000", "listing_hugging_face_id": "Qwen/Qwen2.5-7B",
            "listing_deprecation_date": "2027-06-30T12:00:00Z",
            "listing_pricing_overrides": '[{"utc_start": "2200", "utc_end": "0600", '
                                         '"prompt": "1e-7"}]'}

    def test_the_form_stores_them_as_annotations(self) -> None:
        form = ModelEditForm(post(url="oci://registry.example.com/qwen:2.5", **self.GOOD))
        assert form.is_valid(), form.errors
        annotations = form.to_object()["metadata"]["annotations"]
        assert annotations["openrouter.kmm.io/is-free"] == "true"
        assert annotations["openrouter.kmm.io/discount-to-user"] == "-0.1"
        assert annotations["openrouter.kmm.io/capacity-tpm"] == "500000"
        assert annotations["openrouter.kmm.io/hugging-face-id"] == "Qwen/Qwen2.5-7B"
        assert annotations["openrouter.kmm.io/deprecation-date"] == "2027-06-30T12:00:00Z"
        assert "utc_start" in annotations["openrouter.kmm.io/pricing-overrides"]

    def test_the_form_refuses_bad_values_each_on_its_field(self) -> None:
        bad = {"listing_is_free": "maybe", "listing_discount_to_user": "2",
               "listing_capacity_tpm": "-5", "listing_hugging_face_id": "qwen",
               "listing_deprecation_date": "2027-06-30T12:30:00Z",
               "listing_pricing_overrides": '[{"min_prompt_tokens": 1, "prompt": "1"}, '
                                            '{"utc_start": "0000", "utc_end": "0100", '
                                            '"prompt": "1"}]'}
        form = ModelEditForm(post(**bad))
        assert not form.is_valid()
        assert set(bad) <= set(form.errors)
        assert "cannot be mixed" in str(form.errors["listing_pricing_overrides"])

    def test_the_listing_fieldset_shows_them(self) -> None:
        listing = next(f for f in FIELDSETS if f.slug == "listing")
        for name in self.GOOD:
            assert name in listing.fields
