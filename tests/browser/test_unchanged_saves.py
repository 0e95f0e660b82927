"""Saving in a real Chromium changes exactly what the operator changed, and nothing else.

Chromium sends a textarea's line breaks as CRLF and submits every field of the form;
an unchanged save must leave every byte of the stored object (and its generation) as
it was, for every model of KubeAI's catalog, from the form and from the YAML tab.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import kube
from tests.catalog import catalog_models
from tests.conftest import kubectl, set_status

NOTE = "Owned by the platform team.\nPaged out of hours.\n"


@pytest.fixture
def catalog(admin: kube.Caller, namespace: str) -> list[dict[str, Any]]:
    """The catalog in the namespace, with KubeAI's status and a multi-line annotation."""
    models = catalog_models(namespace)
    for model in models:
        model["metadata"]["annotations"] = {"example.com/note": NOTE}
    kubectl("create", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                   "items": models}))
    for model in models:
        set_status(namespace, model["metadata"]["name"], {"replicas": {"all": 0, "ready": 0}})
    return [kube.get_model(admin, namespace, m["metadata"]["name"]) for m in models]


def save(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was not changed")


@pytest.mark.parametrize("mode", ["form", "yaml"])
def test_an_unchanged_save_of_every_catalog_model_changes_no_byte(
        page: Page, kmm_url: str, admin: kube.Caller, namespace: str,
        catalog: list[dict[str, Any]], mode: str) -> None:
    query = "?mode=yaml" if mode == "yaml" else ""
    for before in catalog:
        name = before["metadata"]["name"]
        save(page, f"{kmm_url}/models/{namespace}/{name}/change/{query}")
        after = kube.get_model(admin, namespace, name)
        assert json.dumps(after) == json.dumps(before), name


def test_an_edit_sends_only_the_edited_field(page: Page, kmm_url: str, admin: kube.Caller,
                                             namespace: str,
                                             catalog: list[dict[str, Any]]) -> None:
    before = next(m for m in catalog if m["spec"].get("files"))  # opt-125m-cpu's chat template
    name = before["metadata"]["name"]
    page.goto(f"{kmm_url}/models/{namespace}/{name}/change/")
    page.get_by_label("Max replicas").fill("7")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was changed")

    after = kube.get_model(admin, namespace, name)
    assert after["spec"].pop("maxReplicas") == 7
    before["spec"].pop("maxReplicas", None)
    assert json.dumps(after["spec"]) == json.dumps(before["spec"])  # owner "" and the template
    assert "\r" not in json.dumps(after)
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]
    assert after["status"] == before["status"]


def test_an_edited_multiline_value_keeps_its_line_breaks(page: Page, kmm_url: str,
                                                         admin: kube.Caller, namespace: str,
                                                         catalog: list[dict[str, Any]]) -> None:
    before = next(m for m in catalog if m["spec"].get("files"))
    name = before["metadata"]["name"]
    page.goto(f"{kmm_url}/models/{namespace}/{name}/change/")
    content = page.locator("#id_files-0-content")
    content.fill(content.input_value() + "{# edited #}\n")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was changed")

    file = kube.get_model(admin, namespace, name)["spec"]["files"][0]
    assert file["content"] == before["spec"]["files"][0]["content"] + "{# edited #}\n"
    assert kube.get_model(admin, namespace, name)["metadata"]["generation"] == \
        before["metadata"]["generation"] + 1
