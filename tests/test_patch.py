"""Merge patches carry only what changed (pure functions, no cluster)."""

from __future__ import annotations

from kube.patch import apply_merge_patch, merge_patch


def test_unchanged_objects_give_an_empty_patch() -> None:
    obj = {"spec": {"a": 1, "list": [1, 2]}, "metadata": {"labels": {"x": "y"}}}
    assert merge_patch(obj, obj) == {}


def test_only_changed_leaves_are_sent() -> None:
    original = {"spec": {"a": 1, "b": {"c": 2, "d": 3}, "unknownField": {"keep": True}}}
    modified = {"spec": {"a": 1, "b": {"c": 2, "d": 4}, "unknownField": {"keep": True}}}
    assert merge_patch(original, modified) == {"spec": {"b": {"d": 4}}}


def test_removed_keys_become_null_and_lists_are_replaced_whole() -> None:
    original = {"spec": {"owner": "x", "args": ["--a", "--b"]}}
    modified = {"spec": {"args": ["--a"]}}
    assert merge_patch(original, modified) == {"spec": {"owner": None, "args": ["--a"]}}


def test_applying_the_patch_gives_the_modified_object() -> None:
    original = {"spec": {"a": 1, "b": {"c": 2}, "l": [1]}, "status": {"s": 1}}
    modified = {"spec": {"a": 2, "b": {"c": 2, "e": 5}, "l": []}, "status": {"s": 1}}
    assert apply_merge_patch(original, merge_patch(original, modified)) == modified


def test_fields_the_caller_does_not_know_survive() -> None:
    original = {"spec": {"a": 1, "futureField": {"x": [1, 2]}}}
    changed = {"spec": {"a": 2, "futureField": {"x": [1, 2]}}}
    patched = apply_merge_patch(original, merge_patch(original, changed))
    assert patched["spec"]["futureField"] == {"x": [1, 2]}


def test_a_change_patch_leaves_out_status_and_server_metadata() -> None:
    from kube.patch import change_patch

    base = {"metadata": {"name": "m", "resourceVersion": "1", "uid": "u", "labels": {"a": "1"}},
            "spec": {"owner": "x"}, "status": {"replicas": {"all": 1}}}
    desired = {"metadata": {"name": "m", "resourceVersion": "9", "labels": {"a": "2"}},
               "spec": {"owner": "x"}, "status": {}}
    assert change_patch(base, desired) == {"metadata": {"labels": {"a": "2"}}}
