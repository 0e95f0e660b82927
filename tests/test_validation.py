"""Every rule of the schema, checked client-side (no cluster needed)."""

from __future__ import annotations

from typing import Any

import pytest

from modelspec.errors import FieldError
from modelspec.schema import locked_fields
from modelspec.validation import locate_cause, validate_model, with_defaults


def model(name: str = "m", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"url": "hf://org/model", "engine": "VLLM",
                            "features": ["TextGeneration"], "targetRequests": 100,
                            "scaleDownDelaySeconds": 30}
    body.update(spec)
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": body}


def errors_of(obj: dict[str, Any], old: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    return {(e.path, e.message) for e in validate_model(obj, old)}


def paths_of(obj: dict[str, Any], old: dict[str, Any] | None = None) -> set[str]:
    return {e.path for e in validate_model(obj, old)}


def test_a_minimal_model_is_valid() -> None:
    assert validate_model(model()) == []


@pytest.mark.parametrize("url", ["hf://o/m", "pvc://claim", "pvc://claim/sub", "ollama://gemma2:2b",
                                 "s3://bucket/path", "oci://registry.example.com/models/llama:3.1"])
def test_supported_url_prefixes_are_accepted(url: str) -> None:
    spec = {"url": url, "engine": "OLlama" if url.startswith("ollama") else "VLLM"}
    assert validate_model(model(**spec)) == []


@pytest.mark.parametrize("url", ["", "http://x", "hf:/x", "file:///m", "oci:/x", "oci://",
                                 "OCI://registry.example.com/m:1"])
def test_other_urls_are_refused(url: str) -> None:
    assert "spec.url" in paths_of(model(url=url))


def test_a_url_with_an_unknown_scheme_gets_upstreams_message() -> None:
    assert ("spec.url", 'url must start with "oci://", "hf://", "pvc://", "ollama://", "s3://", '
            '"gs://", or "oss://" and not be empty.') in errors_of(model(url="http://x"))


@pytest.mark.parametrize("url", [
    "oci://registry.example.com/llama@sha256:" + "a" * 64,  # upstream's pattern has no "@"
    "oci://registry.example.com/my model:1",
    "hf://org/model name",
])
def test_a_url_outside_upstreams_pattern_is_refused(url: str) -> None:
    assert errors_of(model(url=url)) == {
        ("spec.url", r"Must match the pattern ^([a-z0-9]+):\/\/([a-zA-Z0-9._:/-]+)(\?.*)?$.")}


@pytest.mark.parametrize("engine", ["VLLM", "OLlama", "FasterWhisper", "Infinity"])
def test_an_oci_url_is_accepted_with_every_engine(engine: str) -> None:
    """Upstream (#661) gave oci:// no engine rule, though only vLLM reads it from /model."""
    assert validate_model(model(url="oci://ghcr.io/org/opt-125m:oci-image", engine=engine)) == []


@pytest.mark.parametrize("url", ["gs://bucket/m", "oss://bucket/m"])
def test_gs_and_oss_need_a_cache_profile(url: str) -> None:
    scheme = url.split(":")[0]
    assert ("spec.url", f'urls of format "{scheme}://..." only supported when using a cacheProfile') \
        in errors_of(model(url=url))
    assert validate_model(model(url=url, cacheProfile="standard")) == []


@pytest.mark.parametrize("url", ["pvc://claim", "ollama://m", "oci://registry.example.com/m:1"])
def test_a_cache_profile_needs_a_cacheable_url(url: str) -> None:
    assert ("spec.cacheProfile", 'cacheProfile is only supported with urls of format "hf://...", '
            '"s3://...", "gs://...", or "oss://..." at the moment.') \
        in errors_of(model(url=url, engine="OLlama", cacheProfile="c"))


def test_engine_must_be_known() -> None:
    assert "spec.engine" in paths_of(model(engine="TGI"))


def test_features_must_be_known() -> None:
    assert "spec.features[1]" in paths_of(model(features=["TextGeneration", "Vision"]))


@pytest.mark.parametrize("field", ["engine", "features", "url"])
def test_required_fields(field: str) -> None:
    obj = model()
    del obj["spec"][field]
    assert (f"spec.{field}", "This field is required.") in errors_of(obj)


@pytest.mark.parametrize(("field", "default"), [("targetRequests", 100),
                                                ("scaleDownDelaySeconds", 30)])
def test_required_fields_with_defaults_are_filled_like_the_api_server_does(
        field: str, default: int) -> None:
    obj = model()
    del obj["spec"][field]
    assert validate_model(obj) == []
    assert with_defaults(obj)["spec"][field] == default


def test_defaults_fill_nested_objects() -> None:
    spec = with_defaults(model(loadBalancing={"strategy": "PrefixHash"}))["spec"]
    assert spec["loadBalancing"] == {"strategy": "PrefixHash", "prefixHash": {
        "meanLoadFactor": 125, "replication": 256, "prefixCharLength": 100}}


def test_load_balancing_strategy_must_be_known() -> None:
    assert "spec.loadBalancing.strategy" in paths_of(model(loadBalancing={"strategy": "Random"}))


@pytest.mark.parametrize(("field", "bad", "good"), [
    ("minReplicas", -1, 0),
    ("maxReplicas", 0, 1),
    ("targetRequests", 0, 1),
])
def test_minimums(field: str, bad: int, good: int) -> None:
    extra = {"minReplicas": 0} if field == "maxReplicas" else {}
    assert f"spec.{field}" in paths_of(model(**{field: bad}, **extra))
    assert validate_model(model(**{field: good}, **extra)) == []


def test_mean_load_factor_is_at_least_100() -> None:
    bad = model(loadBalancing={"prefixHash": {"meanLoadFactor": 99}})
    assert "spec.loadBalancing.prefixHash.meanLoadFactor" in paths_of(bad)
    assert validate_model(model(loadBalancing={"prefixHash": {"meanLoadFactor": 100}})) == []


def test_integers_must_be_integers() -> None:
    assert ("spec.targetRequests", "Must be an integer.") in errors_of(model(targetRequests="5"))
    assert ("spec.autoscalingDisabled", "Must be true or false.") in errors_of(
        model(autoscalingDisabled="yes"))


def test_int32_fields_are_bounded() -> None:
    assert "spec.maxReplicas" in paths_of(model(minReplicas=0, maxReplicas=2**31))


def test_min_replicas_may_not_exceed_max() -> None:
    assert ("spec.minReplicas", "minReplicas should be less than or equal to maxReplicas.") \
        in errors_of(model(minReplicas=3, maxReplicas=2))
    assert validate_model(model(minReplicas=2, maxReplicas=2)) == []


def test_max_replicas_without_min_is_explained() -> None:
    assert "spec.minReplicas" in paths_of(model(maxReplicas=2))


def test_adapter_names_follow_the_pattern_and_length() -> None:
    assert "spec.adapters[0].name" in paths_of(model(adapters=[{"name": "Bad_Name", "url": "hf://a"}]))
    assert "spec.adapters[0].name" in paths_of(model(adapters=[{"name": "a" * 64, "url": "hf://a"}]))
    assert validate_model(model(adapters=[{"name": "a" * 63, "url": "hf://a"}])) == []


@pytest.mark.parametrize("url", ["pvc://x", "ollama://x", "http://x"])
def test_adapter_urls_must_be_hf_s3_gs_or_oss(url: str) -> None:
    assert "spec.adapters[0].url" in paths_of(model(adapters=[{"name": "a", "url": url}]))


def test_adapters_need_name_and_url() -> None:
    found = paths_of(model(adapters=[{}]))
    assert {"spec.adapters[0].name", "spec.adapters[0].url"} <= found


def test_adapters_only_with_vllm() -> None:
    obj = model(engine="OLlama", url="ollama://m", adapters=[{"name": "a", "url": "hf://a"}])
    assert ("spec.adapters", "adapters only supported with VLLM engine.") in errors_of(obj)


@pytest.mark.parametrize("path", ["relative/path", "/with:colon", ""])
def test_file_paths_are_absolute_without_colons(path: str) -> None:
    assert "spec.files[0].path" in paths_of(model(files=[{"path": path, "content": "x"}]))


def test_file_path_and_content_lengths() -> None:
    assert "spec.files[0].path" in paths_of(model(files=[{"path": "/" + "p" * 1024, "content": ""}]))
    assert "spec.files[0].content" in paths_of(
        model(files=[{"path": "/p", "content": "c" * 100_001}]))
    assert validate_model(model(files=[{"path": "/" + "p" * 1023, "content": "c" * 100_000}])) == []


def test_at_most_ten_files() -> None:
    files = [{"path": f"/f{i}", "content": ""} for i in range(11)]
    assert "spec.files" in paths_of(model(files=files))
    assert validate_model(model(files=files[:10])) == []


def test_file_paths_are_unique() -> None:
    files = [{"path": "/same", "content": "a"}, {"path": "/same", "content": "b"}]
    assert ("spec.files", "All file paths must be unique.") in errors_of(model(files=files))


def test_env_values_are_strings() -> None:
    assert "spec.env.PORT" in paths_of(model(env={"PORT": 8080}))


def test_names_are_at_most_40_characters() -> None:
    assert ("metadata.name", "name must not exceed 40 characters.") in errors_of(model("n" * 41))
    assert validate_model(model("n" * 40)) == []


@pytest.mark.parametrize("name", ["Upper", "under_score", "-dash", ""])
def test_names_are_dns_subdomains(name: str) -> None:
    assert "metadata.name" in paths_of(model(name))


def test_cache_profile_is_immutable() -> None:
    old = model(cacheProfile="a")
    assert ("spec.cacheProfile", "cacheProfile is immutable.") in errors_of(
        model(cacheProfile="b"), old)
    assert validate_model(model(cacheProfile="a"), old) == []


def test_url_is_immutable_while_a_cache_profile_is_set() -> None:
    old = model(cacheProfile="a")
    changed = model(cacheProfile="a", url="hf://org/other")
    assert ("spec.url", "url is immutable when using cacheProfile.") in errors_of(changed, old)
    assert validate_model(model(url="hf://org/other"), model()) == []


def test_prefix_hash_replication_is_immutable() -> None:
    old = model(loadBalancing={"prefixHash": {"replication": 256}})
    new = model(loadBalancing={"prefixHash": {"replication": 100}})
    assert "spec.loadBalancing.prefixHash.replication" in paths_of(new, old)


def test_the_schema_knows_its_immutable_fields() -> None:
    assert set(locked_fields({"url": "hf://o/m"})) == {
        "cacheProfile", "loadBalancing.prefixHash.replication"}


def test_the_url_is_locked_only_while_a_cache_profile_is_set() -> None:
    assert "url" in locked_fields({"url": "hf://o/m", "cacheProfile": "fast"})
    assert "url" not in locked_fields({"url": "hf://o/m"})


@pytest.mark.parametrize(("field", "message", "expected"), [
    ("spec", 'Invalid value: "object": minReplicas should be less than or equal to maxReplicas.',
     FieldError("spec.minReplicas", "minReplicas should be less than or equal to maxReplicas.")),
    ("spec", "Invalid value: adapters only supported with VLLM engine.",
     FieldError("spec.adapters", "adapters only supported with VLLM engine.")),
    ("<nil>", "Invalid value: name must not exceed 40 characters.",
     FieldError("metadata.name", "name must not exceed 40 characters.")),
    ("spec.engine", 'Unsupported value: "X": supported values: "OLlama"',
     FieldError("spec.engine", 'Unsupported value: "X": supported values: "OLlama"')),
])
def test_api_server_causes_land_on_the_right_field(field: str, message: str,
                                                   expected: FieldError) -> None:
    assert locate_cause(field, message) == expected


def test_a_null_spec_is_refused_like_a_missing_one() -> None:
    for body in ({"metadata": {"name": "m"}}, {"metadata": {"name": "m"}, "spec": None}):
        assert ("spec", "This field is required and must be an object.") in {
            (e.path, e.message) for e in validate_model(body)}


def test_a_pattern_ends_at_the_end_of_the_text_as_in_go() -> None:
    # Python's `$` also matches before a trailing newline; the API server's (Go) does not.
    from modelspec.schema import pattern_regex

    assert pattern_regex(r"^[a-z]+$").search("abc")
    assert not pattern_regex(r"^[a-z]+$").search("abc\n")
    assert pattern_regex(r"^a\$b$").search("a$b")
