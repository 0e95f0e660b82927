"""The OpenRouter listing rules (modelspec.listing), without a cluster."""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelspec import listing
from modelspec.listing import ANNOTATION_PREFIX as P


def model(name: str = "m", namespace: str = "ns", annotations: dict[str, str] | None = None,
          status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body = {"url": "hf://org/repo", "engine": "VLLM", "features": ["TextGeneration"], **spec}
    obj: dict[str, Any] = {"metadata": {"name": name, "namespace": namespace,
                                        "creationTimestamp": "2026-01-02T03:04:05Z",
                                        "annotations": annotations or {}},
                           "spec": body}
    if status is not None:
        obj["status"] = status
    return obj


def field(name: str) -> listing.ListingField:
    return listing.FIELDS_BY_NAME[name]


def test_it_names_every_field_under_one_prefix() -> None:
    assert all(f.key.startswith(P) for f in listing.LISTING_FIELDS)
    assert len({f.key for f in listing.LISTING_FIELDS}) == len(listing.LISTING_FIELDS)


def test_it_gives_every_field_a_label_help_and_kind() -> None:
    kinds = {"text", "textarea", "int", "decimal", "choice", "multichoice", "date", "countries",
             "boolean", "json"}
    assert all(f.label and f.help_text and f.kind in kinds for f in listing.LISTING_FIELDS)


def test_it_offers_the_quantizations_the_issue_lists() -> None:
    assert field("quantization").choices == ("int4", "int8", "fp4", "fp6", "fp8", "fp16", "bf16",
                                             "fp32", "mxfp4", "nvfp4", "mxfp8")


@pytest.mark.parametrize(("name", "raw", "value"), [
    ("context_length", " 8192 ", 8192),
    ("pricing_prompt", "5e-7", "0.0000005"),
    ("pricing_completion", "0", "0"),
    ("sampling_parameters", "top_p, temperature", ["temperature", "top_p"]),
    ("features", "tools,json_mode", ["tools", "json_mode"]),
    ("deprecation_date", "2027-01-31", "2027-01-31"),
    ("deprecation_date", "2027-01-31T09:00:00Z", "2027-01-31T09:00:00Z"),
    ("is_free", "true", True),
    ("discount_to_user", "0.1", 0.1),
    ("discount_to_user", "-0.25", -0.25),
    ("capacity_tpm", "2000000", 2000000),
    ("hugging_face_id", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B"),
    ("pricing_overrides", '[{"min_prompt_tokens": 200000, "prompt": "6e-6"}]',
     [{"min_prompt_tokens": 200000, "prompt": "0.000006"}]),
    ("pricing_overrides", '[{"utc_start": "0000", "utc_end": "0800", "completion": "0.1"}, '
                          '{"utc_start": "2200", "utc_end": "2359", "prompt": "0"}]',
     [{"utc_start": "0000", "utc_end": "0800", "completion": "0.1"},
      {"utc_start": "2200", "utc_end": "2359", "prompt": "0"}]),
    ("datacenters", "US, DE", ["US", "DE"]),
    ("quantization", "fp8", "fp8"),
    ("publish", "TRUE", True),
    ("slug", "meta-llama/llama-3.1-8b-instruct", "meta-llama/llama-3.1-8b-instruct"),
])
def test_it_parses_good_values(name: str, raw: str, value: Any) -> None:
    assert field(name).parse(raw) == value


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("context_length", "8k", "whole number"),
    ("context_length", "0", "between 1"),
    ("pricing_prompt", "-1", "zero or more"),
    ("pricing_prompt", "NaN", "finite"),
    ("pricing_prompt", "cheap", "decimal number"),
    ("sampling_parameters", "temperature,warmth", "'warmth'"),
    ("features", "tools,tools", "only once"),
    ("deprecation_date", "2027-02-30", "YYYY-MM-DD"),
    ("deprecation_date", "31/01/2027", "YYYY-MM-DD"),
    ("datacenters", "usa", "alpha-2"),
    ("quantization", "fp12", "supported values"),
    ("publish", "yes", '"true" or "false"'),
    ("display_name", "x" * 201, "at most 200"),
    ("deprecation_date", "2027-01-31T09:30:00Z", "YYYY-MM-DDTHH:00:00Z"),
    ("deprecation_date", "2027-01-31T09:00:00", "YYYY-MM-DDTHH:00:00Z"),
    ("is_free", "free", '"true" or "false"'),
    ("discount_to_user", "1", "below 1"),
    ("discount_to_user", "1.5", "below 1"),
    ("discount_to_user", "ten", "decimal number below 1"),
    ("capacity_tpm", "0", "between 1"),
    ("capacity_tpm", "1.5M", "whole number"),
    ("hugging_face_id", "llama", "organisation/name"),
    ("hugging_face_id", "hf://org/repo", "organisation/name"),
    ("pricing_overrides", "{}", "JSON list"),
    ("pricing_overrides", "[{", "JSON list"),
    ("pricing_overrides", '[{"min_prompt_tokens": 1, "prompt": "1"}, '
                          '{"min_prompt_tokens": 2, "prompt": "1"}, '
                          '{"min_prompt_tokens": 3, "prompt": "1"}]', "At most 2"),
    ("pricing_overrides", '[{"min_prompt_tokens": 100000, "prompt": "1"}, '
                          '{"utc_start": "0000", "utc_end": "0800", "prompt": "1"}]',
     "cannot be mixed"),
    ("pricing_overrides", '[{"utc_start": "0000", "prompt": "1"}]', "both utc_start and utc_end"),
    ("pricing_overrides", '[{"utc_start": "2400", "utc_end": "0100", "prompt": "1"}]', "HHMM"),
    ("pricing_overrides", '[{"utc_start": "9:00", "utc_end": "1000", "prompt": "1"}]', "HHMM"),
    ("pricing_overrides", '[{"min_prompt_tokens": 0, "prompt": "1"}]', "whole number"),
    ("pricing_overrides", '[{"min_prompt_tokens": 1000}]', "at least one price"),
    ("pricing_overrides", '[{"prompt": "1"}]', "needs a condition"),
    ("pricing_overrides", '[{"min_prompt_tokens": 1000, "prompt": "-1"}]', "zero or more"),
    ("pricing_overrides", '[{"min_prompt_tokens": 1000, "cost": "1"}]', "unknown key"),
])
def test_it_refuses_bad_values_with_a_clear_message(name: str, raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        field(name).parse(raw)


def test_it_serializes_values_back_to_what_parse_reads() -> None:
    for name, value in [("features", ["tools", "reasoning"]), ("publish", True),
                        ("context_length", 4096), ("datacenters", ["US", "FR"])]:
        assert field(name).parse(field(name).serialize(value)) == value


def test_it_builds_a_bare_entry_from_the_model_alone() -> None:
    entry, warnings = listing.listing_entry(model("llama"))
    assert warnings == []
    assert entry == {
        "id": "llama", "hugging_face_id": "org/repo", "name": "llama",
        "created": 1767323045, "input_modalities": ["text"], "output_modalities": ["text"],
        "quantization": None, "context_length": None, "max_output_length": None,
        "pricing": {"prompt": "0", "completion": "0"}, "supported_sampling_parameters": [],
        "supported_features": [], "description": "", "deprecation_date": None,
        "is_ready": True, "datacenters": [],
    }


def test_it_fills_the_entry_from_annotations() -> None:
    annotations = {P + "display-name": "Llama 3.1 8B", P + "context-length": "131072",
                   P + "pricing-image": "0.001", P + "slug": "meta-llama/llama-3.1-8b",
                   P + "datacenters": "US", P + "quantization": "bf16"}
    entry, _ = listing.listing_entry(model(annotations=annotations))
    assert entry["name"] == "Llama 3.1 8B"
    assert entry["context_length"] == 131072
    assert entry["pricing"] == {"prompt": "0", "completion": "0", "image": "0.001"}
    assert entry["openrouter"] == {"slug": "meta-llama/llama-3.1-8b"}
    assert entry["datacenters"] == [{"country_code": "US"}]
    assert entry["quantization"] == "bf16"


def test_it_lists_the_newer_openrouter_fields() -> None:
    annotations = {P + "is-free": "true", P + "discount-to-user": "0.2",
                   P + "capacity-tpm": "1000000", P + "deprecation-date": "2027-03-01T18:00:00Z",
                   P + "pricing-overrides": '[{"min_prompt_tokens": 128000, "prompt": "2e-6"}]'}
    entry, warnings = listing.listing_entry(model(annotations=annotations))
    assert warnings == []
    assert entry["is_free"] is True
    assert entry["discount_to_user"] == 0.2
    assert entry["capacity_tpm"] == 1000000
    assert entry["deprecation_date"] == "2027-03-01T18:00:00Z"
    assert entry["pricing"] == {"prompt": "0", "completion": "0", "overrides": [
        {"min_prompt_tokens": 128000, "prompt": "0.000002"}]}


def test_an_explicit_hugging_face_id_names_a_pvc_copy() -> None:
    annotations = {P + "hugging-face-id": "meta-llama/Llama-3.1-8B"}
    entry, _ = listing.listing_entry(model(url="pvc://weights/llama", annotations=annotations))
    assert entry["hugging_face_id"] == "meta-llama/Llama-3.1-8B"


def test_an_oci_url_has_no_hugging_face_id() -> None:
    entry, _ = listing.listing_entry(model(url="oci://registry.example.com/models/llama:3.1"))
    assert entry["hugging_face_id"] == ""


def test_every_listing_field_says_where_it_lands_in_the_entry() -> None:
    annotations = {f.key: f.serialize(value) for f, value in [
        (field("description"), "d"), (field("context_length"), 8), (field("capacity_tpm"), 9),
        (field("slug"), "a/b"), (field("pricing_image"), "1")]}
    entry, _ = listing.listing_entry(model(annotations=annotations))
    for name in ("description", "context_length", "capacity_tpm", "slug", "pricing_image"):
        path = field(name).entry_field.split(".")
        value: Any = entry
        for part in path:
            value = value[part]
        assert value == field(name).parse(annotations[field(name).key])


def test_it_leaves_out_an_invalid_annotation_and_warns() -> None:
    annotations = {P + "context-length": "lots", P + "max-output-length": "4096"}
    entry, warnings = listing.listing_entry(model(annotations=annotations))
    assert entry["context_length"] is None
    assert entry["max_output_length"] == 4096
    assert [w.path for w in warnings] == [f"metadata.annotations[{P}context-length]"]


def test_it_warns_about_unknown_keys_under_the_prefix() -> None:
    problems = listing.validate_listing(model(annotations={P + "context-lenght": "1"}))
    assert "Unknown listing annotation" in problems[0].message


@pytest.mark.parametrize(("features", "inputs", "outputs"), [
    (["TextGeneration"], ["text"], ["text"]),
    (["TextEmbedding"], ["text"], ["embeddings"]),
    (["Reranking"], ["text"], ["rerank"]),
    (["SpeechToText"], ["audio"], ["transcription"]),
    (["TextGeneration", "TextEmbedding"], ["text"], ["text", "embeddings"]),
    ([], [], []),
])
def test_it_derives_modalities_from_features(features: list[str], inputs: list[str],
                                            outputs: list[str]) -> None:
    assert listing.modalities(features) == (inputs, outputs)


@pytest.mark.parametrize(("spec", "status", "ready"), [
    ({"minReplicas": 0}, None, True),
    ({}, None, True),
    ({"minReplicas": 1}, None, False),
    ({"minReplicas": 1}, {"replicas": {"all": 1, "ready": 1}}, True),
    ({"autoscalingDisabled": True, "replicas": 1}, {"replicas": {"all": 1, "ready": 0}}, False),
])
def test_it_is_ready_with_ready_replicas_or_scale_from_zero(spec: dict[str, Any],
                                                            status: dict[str, Any] | None,
                                                            ready: bool) -> None:
    assert listing.is_ready(model(status=status, **spec)) is ready


def test_it_lists_adapters_as_model_underscore_adapter() -> None:
    base = model("llama", adapters=[{"name": "sql", "url": "hf://org/sql-lora"}],
                 annotations={P + "slug": "meta/llama"})
    entries = listing.listing_entries(base)
    assert [e["id"] for e in entries] == ["llama", "llama_sql"]
    assert entries[1]["hugging_face_id"] == "org/sql-lora"
    assert "openrouter" not in entries[1]


def test_it_leaves_non_hugging_face_urls_without_an_id() -> None:
    assert listing.hugging_face_id("ollama://gemma2:2b") == ""


@pytest.mark.parametrize(("mode", "flag", "published"), [
    ("annotation", None, False), ("annotation", "true", True), ("annotation", "false", False),
    ("all", None, True), ("all", "false", False),
    ("namespaces", None, True), ("namespaces", "false", False),
])
def test_it_publishes_by_mode(mode: str, flag: str | None, published: bool) -> None:
    annotations = {listing.PUBLISH_ANNOTATION: flag} if flag else {}
    assert listing.is_published(model(annotations=annotations), mode, ["ns"]) is published


def test_it_publishes_only_allow_listed_namespaces() -> None:
    assert not listing.is_published(model(namespace="other"), "namespaces", ["ns"])


def test_the_readme_documents_every_annotation_and_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    names = [f.key for f in listing.LISTING_FIELDS] + [
        "KMM_PUBLISH_MODE", "KMM_PUBLISH_NAMESPACES", "KMM_PUBLIC_RATE", "KMM_PUBLIC_MAX_AGE",
        "KMM_NUM_PROXIES"]
    assert [n for n in names if f"`{n}`" not in readme] == []
