"""Saving in a real Chromium changes exactly what the operator changed, and nothing else.

Chromium sends a textarea's line breaks as CRLF and submits every field of the form;
an unchanged save must leave every byte of the stored object (and its generation) as
it was, for every model of KubeAI's catalog, from the form and from the YAML tab.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import kube
from tests.catalog import catalog_models
from tests.conftest import set_status

NOTE = "Owned by the platform team.\nPaged out of hours.\n"


@pytest.fixture(scope="module")
def catalog(control_plane: Any) -> tuple[str, list[str]]:
    """KubeAI's catalog in a namespace of its own, with KubeAI's status and a multi-line
    annotation on each model: (namespace, names)."""
    admin = kube.default_cluster().as_app()
    namespace = f"t-catalog-{uuid.uuid4().hex[:8]}"
    kube.create_namespace(admin, namespace)
    names = []
    for model in catalog_models(namespace):
        model["metadata"]["annotations"] = {"example.com/note": NOTE}
        kube.create_model(admin, model)
        names.append(model["metadata"]["name"])
        set_status(namespace, names[-1], {"replicas": {"all": 0, "ready": 0}})
    return namespace, names


@pytest.fixture
def with_template(admin: kube.Caller, namespace: str) -> dict[str, Any]:
    """opt-125m-cpu: its spec.files[0].content is a multi-line chat template."""
    model = next(m for m in catalog_models(namespace) if m["spec"].get("files"))
    model["metadata"]["annotations"] = {"example.com/note": NOTE}
    kube.create_model(admin, model)
    set_status(namespace, model["metadata"]["name"], {"replicas": {"all": 0, "ready": 0}})
    return kube.get_model(admin, namespace, model["metadata"]["name"])


def save(page: Page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was not changed")


@pytest.mark.parametrize("mode", ["form", "yaml"])
def test_an_unchanged_save_of_every_catalog_model_changes_no_byte(
        page: Page, kmm_url: str, admin: kube.Caller, catalog: tuple[str, list[str]],
        mode: str) -> None:
    namespace, names = catalog
    query = "?mode=yaml" if mode == "yaml" else ""
    for name in names:
        before = kube.get_model(admin, namespace, name)
        save(page, f"{kmm_url}/models/{namespace}/{name}/change/{query}")
        after = kube.get_model(admin, namespace, name)
        assert json.dumps(after) == json.dumps(before), name


def test_an_edit_sends_only_the_edited_fields(page: Page, kmm_url: str, admin: kube.Caller,
                                              namespace: str,
                                              with_template: dict[str, Any]) -> None:
    before, name = with_template, with_template["metadata"]["name"]
    page.goto(f"{kmm_url}/models/{namespace}/{name}/change/")
    page.get_by_label("Min replicas").fill("1")
    page.get_by_label("Max replicas").fill("7")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was changed")

    after = kube.get_model(admin, namespace, name)
    assert (after["spec"].pop("minReplicas"), after["spec"].pop("maxReplicas")) == (1, 7)
    assert json.dumps(after["spec"]) == json.dumps(before["spec"])  # owner "" and the template
    assert "\r" not in json.dumps(after)
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]
    assert after["status"] == before["status"]


def test_an_edited_multiline_value_keeps_its_line_breaks(page: Page, kmm_url: str,
                                                         admin: kube.Caller, namespace: str,
                                                         with_template: dict[str, Any]) -> None:
    before, name = with_template, with_template["metadata"]["name"]
    page.goto(f"{kmm_url}/models/{namespace}/{name}/change/")
    content = page.locator("#id_files-0-content")
    content.fill(content.input_value() + "{# edited #}\n")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was changed")

    after = kube.get_model(admin, namespace, name)
    assert after["spec"]["files"][0]["content"] == \
        before["spec"]["files"][0]["content"] + "{# edited #}\n"
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
