"""The pieces that keep kmm serving through a bad API server, tested without one:
resourceVersion order, the call gate (budget and breaker), the token file, paging
tokens, and the public listing's incremental build and its once-only warnings."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from rest_framework import exceptions

import kube
from kube.cache import Snapshot, compare_resource_versions, shows_write
from kube.cluster import Cluster, Gate, TokenFile, concurrency
from models_api.streaming import decode_token, encode_token
from public_api import listing as public_listing


@pytest.mark.parametrize(("a", "b", "order"), [
    ("9", "10", -1), ("10", "9", 1), ("123", "123", 0), ("100", "099", None),
    ("abc", "1", None), ("", "1", None), ("18446744073709551617", "18446744073709551616", 1),
])
def test_resource_versions_compare_as_kubernetes_defines(a: str, b: str,
                                                         order: int | None) -> None:
    assert compare_resource_versions(a, b) == order


def model(namespace: str, name: str, version: str, uid: str = "u1") -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name, "resourceVersion": version,
                         "uid": uid}}


def snapshot_of(*models: dict[str, Any]) -> Snapshot:
    by_name: dict[str, dict[str, Any]] = {}
    for m in models:
        by_name.setdefault(m["metadata"]["namespace"], {})[m["metadata"]["name"]] = m
    return Snapshot(by_name=by_name)


def test_a_write_is_seen_when_the_cache_shows_it_or_anything_newer() -> None:
    written = model("ns", "m", "120")
    assert shows_write(snapshot_of(model("ns", "m", "120")), "ns", "m", written)
    # KubeAI wrote status right after kmm: the cache may only ever show the newer version.
    assert shows_write(snapshot_of(model("ns", "m", "121")), "ns", "m", written)
    assert not shows_write(snapshot_of(model("ns", "m", "119")), "ns", "m", written)
    assert not shows_write(snapshot_of(), "ns", "m", written)
    # The same name, but an older object (deleted and created again): not ours.
    assert not shows_write(snapshot_of(model("ns", "m", "130", uid="u0")), "ns", "m", written)


def test_a_deletion_is_seen_when_the_model_is_gone() -> None:
    assert shows_write(snapshot_of(), "ns", "m", None)
    assert not shows_write(snapshot_of(model("ns", "m", "1")), "ns", "m", None)


def test_opaque_versions_fall_back_to_equality_or_any_change() -> None:
    written = model("ns", "m", "b-2")
    assert shows_write(snapshot_of(model("ns", "m", "b-2")), "ns", "m", written)
    assert not shows_write(snapshot_of(model("ns", "m", "a-1")), "ns", "m", written, "a-1")
    assert shows_write(snapshot_of(model("ns", "m", "c-3")), "ns", "m", written, "a-1")


def gate(budget: int | None = None) -> Gate:
    return Gate(lambda: "https://127.0.0.1:1", budget)


def test_the_breaker_lets_one_trial_through_and_refuses_the_rest_at_once() -> None:
    breaker = gate()
    breaker.no_answer()
    with breaker.admit(), pytest.raises(kube.Unavailable, match="has not been answering"), \
            breaker.admit():  # the first is the trial; the second is refused
        pass
    breaker.answered()
    with breaker.admit(), breaker.admit():  # up again: no limit
        pass
    assert breaker.refused["down"] == 1


def test_background_calls_pass_a_down_or_full_gate() -> None:
    full = gate(budget=1)
    full.no_answer()
    with full.admit(), full.admit(budgeted=False):
        pass


def test_the_budget_refuses_calls_beyond_it_quickly() -> None:
    budget = gate(budget=2)
    entered = threading.Barrier(3)
    release = threading.Event()

    def hold() -> None:
        with budget.admit():
            entered.wait()
            release.wait(10)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    entered.wait()
    try:
        with pytest.raises(kube.Unavailable, match="already waiting for 2 answers"), \
                budget.admit():
            pass
    finally:
        release.set()
        for thread in holders:
            thread.join()
    with budget.admit():  # slots are given back
        pass
    assert budget.refused["busy"] == 1


def test_the_budget_leaves_one_gunicorn_thread_free_by_default() -> None:
    assert concurrency({}) == 3
    assert concurrency({"KMM_THREADS": "8"}) == 7
    assert concurrency({"KMM_THREADS": "1"}) == 1
    assert concurrency({"KMM_KUBE_CONCURRENCY": "5"}) == 5
    assert concurrency({"KMM_KUBE_CONCURRENCY": "0"}) is None
    with pytest.raises(kube.ConfigurationError):
        concurrency({"KMM_KUBE_CONCURRENCY": "many"})


def test_the_token_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    token = TokenFile(path)
    configuration = client.Configuration()
    configuration.api_key["authorization"] = f"Bearer {token.read()}"
    configuration.refresh_api_key_hook = token.refresh  # type: ignore[assignment]
    assert configuration.get_api_key_with_prefix("BearerToken", alias="authorization") \
        == "Bearer first"
    replacement = tmp_path / "token.new"
    replacement.write_text("second")
    replacement.replace(path)  # as the kubelet swaps the mounted file
    assert configuration.get_api_key_with_prefix("BearerToken", alias="authorization") \
        == "Bearer second"
    path.write_text("")  # a half-written file keeps the last good token
    assert configuration.get_api_key_with_prefix("BearerToken", alias="authorization") \
        == "Bearer second"


def test_a_cluster_without_files_never_reloads() -> None:
    assert Cluster(client.Configuration(), "ctx", "test").reload_if_changed() is False


def test_continue_tokens_round_trip_and_bad_ones_are_a_field_error() -> None:
    assert decode_token(encode_token(("ns", "llama-3.1-8b"))) == ("ns", "llama-3.1-8b")
    with pytest.raises(exceptions.ValidationError) as refused:
        decode_token("not-a-token")
    assert "continue" in refused.value.detail  # type: ignore[operator]


def published(namespace: str, name: str, version: str, created: str) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name, "uid": f"{namespace}/{name}",
                         "resourceVersion": version, "creationTimestamp": created,
                         "annotations": {"openrouter.kmm.io/publish": "true"}},
            "spec": {"url": "hf://org/m", "engine": "VLLM", "features": ["TextGeneration"]}}


def listing_of(*models: dict[str, Any]) -> Snapshot:
    ordered = sorted(models, key=lambda m: (m["metadata"]["namespace"], m["metadata"]["name"]))
    return Snapshot(version=1, synced=True, models=tuple(ordered))


def test_the_listing_reuses_entries_of_unchanged_models(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = public_listing.model_entries

    def counted(model: dict[str, Any]) -> Any:
        made.append(model["metadata"]["name"])
        return real(model)

    monkeypatch.setattr(public_listing, "model_entries", counted)
    entries = public_listing.Entries()
    a, b = published("ns", "a", "1", "2024-01-01T00:00:00Z"), published("ns", "b", "2",
                                                                        "2024-01-01T00:00:00Z")
    first = public_listing.build(listing_of(a, b), "annotation", (), entries)
    changed = dict(b, metadata={**b["metadata"], "resourceVersion": "3",
                                "annotations": {"openrouter.kmm.io/publish": "true",
                                                "openrouter.kmm.io/display-name": "Bee"}})
    second = public_listing.build(listing_of(a, changed), "annotation", (), entries)
    assert made == ["a", "b", "b"]
    assert [e["name"] for e in first.openrouter.data["data"]] == ["a", "b"]
    assert [e["name"] for e in second.openrouter.data["data"]] == ["a", "Bee"]
    assert [e["id"] for e in second.openai.data["data"]] == ["a", "b"]


def test_a_duplicate_id_is_logged_once_while_it_lasts(caplog: pytest.LogCaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_listing, "_logged_shadowed", ())
    old = published("one", "llama", "1", "2024-01-01T00:00:00Z")
    new = published("two", "llama", "2", "2025-01-01T00:00:00Z")
    caplog.set_level(logging.INFO, logger="public_api.listing")
    for _ in range(3):
        built = public_listing.build(listing_of(old, new), "annotation", ())
        public_listing._log_shadowed(built.shadowed)
    assert built.shadowed == ("two/llama",)
    public_listing._log_shadowed(public_listing.build(listing_of(old), "annotation", ()).shadowed)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "public listing: left out for a duplicate id (the oldest model keeps it): two/llama",
        "public listing: no longer left out for a duplicate id: two/llama"]

