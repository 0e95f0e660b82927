"""Issue 12's pure pieces: ids, diffs, times, prices and what the API shows people."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import Client

import kube
from models_api.renderers import without_managed_fields
from models_ui.forms import PerMillionPriceField, per_million
from models_ui.presenters import ModelRow
from models_ui.templatetags.kmm_forms import diff_lines, timestamp
from tests.conftest import make_model


def test_it_makes_dom_ids_that_are_selectors_and_never_collide() -> None:
    rows = [ModelRow(make_model(ns, name)) for ns, name in (
        ("kubeai", "llama-3.1-8b-instruct-l4"), ("a-b", "c"), ("a", "b-c"), ("x", "a.b"),
        ("x", "a-b"))]
    ids = [row.dom_id for row in rows]
    assert len(set(ids)) == len(ids)
    assert ids[0] == "kubeai__llama-3_1-8b-instruct-l4"
    assert all("." not in dom_id for dom_id in ids)


def test_it_colours_a_unified_diff_line_by_line() -> None:
    diff = "--- as loaded\n+++ now\n@@ -1 +1 @@\n-image: a\n+image: b\n keep"
    assert [kind for kind, _ in diff_lines(diff)] == ["file", "file", "hunk", "del", "add",
                                                      "same"]


def test_it_reads_api_server_times() -> None:
    assert timestamp("2026-11-28T17:02:11Z") == datetime.datetime(
        2026, 11, 28, 17, 2, 11, tzinfo=datetime.UTC)
    assert timestamp("") is None
    assert timestamp("yesterday") is None


@pytest.mark.parametrize(("typed", "stored", "shown"), [
    ("0.50", "0.0000005", "0.5"), ("0.02", "0.00000002", "0.02"), ("100", "0.0001", "100"),
    ("0", "0", "0")])
def test_it_takes_prices_per_million_tokens_and_stores_them_per_token(
        typed: str, stored: str, shown: str) -> None:
    assert PerMillionPriceField(required=False).clean(typed) == stored
    assert per_million(stored) == shown


def test_it_refuses_a_price_that_is_no_amount() -> None:
    from django import forms

    for typed in ("cheap", "-1", "NaN"):
        with pytest.raises(forms.ValidationError):
            PerMillionPriceField(required=False).clean(typed)


def test_it_leaves_managed_fields_out_of_lists_and_objects() -> None:
    model = make_model("kubeai", "m")
    model["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    listing = {"kind": "ModelList", "items": [model]}
    assert "managedFields" not in json.dumps(without_managed_fields(listing))
    assert "managedFields" not in json.dumps(without_managed_fields(model))
    assert model["metadata"]["managedFields"]  # the data itself is untouched


def test_the_favicon_is_served_without_sign_in(client: Client) -> None:
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")


@pytest.mark.cluster
def test_the_api_has_an_index_and_the_browsable_api_hides_managed_fields(
        client: Client, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "qwen2.5-7b-cached"))
    index = client.get("/api/", HTTP_ACCEPT="application/json")
    assert index.status_code == 200
    assert index.json()["models"].endswith("/api/models/")
    assert index.json()["docs"].endswith("/api/docs/")
    path = f"/api/namespaces/{namespace}/models/qwen2.5-7b-cached/"
    assert b"managedFields" not in client.get(path, HTTP_ACCEPT="text/html").content
    assert "managedFields" in client.get(path, HTTP_ACCEPT="application/json").json()["metadata"]
