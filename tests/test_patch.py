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


# --- the caller's change and the three-way rule -------------------------------------------

def test_browser_line_breaks_are_no_change() -> None:
    from kube.patch import user_change

    base = {"spec": {"files": [{"path": "/t", "content": "a\nb\n"}], "owner": ""},
            "metadata": {"annotations": {"note": "one\ntwo"}}}
    submitted = {"spec": {"files": [{"path": "/t", "content": "a\r\nb\r\n"}], "owner": ""},
                 "metadata": {"annotations": {"note": "one\r\ntwo"}}}
    assert user_change(base, submitted, base) == {}


def test_an_edited_multiline_value_keeps_the_line_breaks_it_had() -> None:
    from kube.patch import user_change

    base = {"spec": {"files": [{"path": "/lf", "content": "a\nb"},
                               {"path": "/crlf", "content": "c\r\nd"}]}}
    submitted = {"spec": {"files": [{"path": "/lf", "content": "a\r\nB"},
                                    {"path": "/crlf", "content": "c\r\nD"}]}}
    assert user_change(base, submitted, base) == {"spec": {"files": [
        {"path": "/lf", "content": "a\nB"}, {"path": "/crlf", "content": "c\r\nD"}]}}


def test_a_field_the_form_shows_differently_is_untouched_unless_edited() -> None:
    from kube.patch import user_change

    base = {"spec": {"owner": "", "url": "hf://a/b"}}
    as_shown = {"spec": {"url": "hf://a/b"}}  # the form has no way to show an empty owner
    assert user_change(as_shown, {"spec": {"url": "hf://a/b"}}, base) == {}
    assert user_change(as_shown, {"spec": {"url": "hf://a/c"}}, base) == {
        "spec": {"url": "hf://a/c"}}


BASE = {"metadata": {"name": "m", "resourceVersion": "1", "annotations": {"a.io/x": "1"}},
        "spec": {"minReplicas": 1, "replicas": 1, "owner": "x", "args": ["--a"]}}


def _now(**spec: object) -> dict:
    current = {"metadata": {**BASE["metadata"], "resourceVersion": "2"},
               "spec": {**BASE["spec"], **spec}, "status": {"replicas": {"all": 1}}}
    return current


def test_status_and_other_fields_changed_meanwhile_do_not_overlap() -> None:
    from kube.patch import overlapping

    change = {"spec": {"minReplicas": 2}}
    assert overlapping(change, BASE, _now()) == []
    assert overlapping(change, BASE, _now(replicas=3, owner="y")) == []


def test_the_same_field_changed_meanwhile_overlaps() -> None:
    from kube.patch import overlapping, path_text

    change = {"spec": {"minReplicas": 2, "args": None},
              "metadata": {"annotations": {"a.io/x": "2"}}}
    current = _now(minReplicas=3, args=["--a", "--b"])
    current["metadata"]["annotations"] = {"a.io/x": "3"}
    found = sorted(path_text(p) for p in overlapping(change, BASE, current))
    assert found == ["metadata.annotations[a.io/x]", "spec.args", "spec.minReplicas"]


def test_the_very_same_change_made_meanwhile_is_not_a_conflict() -> None:
    from kube.patch import overlapping

    assert overlapping({"spec": {"minReplicas": 2}}, BASE, _now(minReplicas=2)) == []


def test_removing_a_block_someone_edited_overlaps() -> None:
    from kube.patch import overlapping

    base = {"spec": {"loadBalancing": {"strategy": "LeastLoad"}}}
    current = {"spec": {"loadBalancing": {"strategy": "PrefixHash"}}}
    assert overlapping({"spec": {"loadBalancing": None}}, base, current) == [
        ("spec", "loadBalancing")]
