"""The management UI in a real Chromium, against a real API server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

import kube
from tests.browser.conftest import choose_profile
from tests.conftest import kubectl, make_model, set_status


def open_form(page: Page, kmm_url: str, namespace: str) -> None:
    page.goto(f"{kmm_url}/add/?namespace={namespace}")
    expect(page.get_by_role("heading", name="Add model")).to_be_visible()


def fill_new_model(page: Page, name: str) -> None:
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_role("textbox", name="URL", exact=True).fill("hf://org/browser-model")
    page.get_by_role("combobox", name="Engine").select_option("VLLM")
    page.get_by_role("checkbox", name="TextGeneration").check()
    choose_profile(page, "cpu")
    page.get_by_role("spinbutton", name="Count").fill("1")
    page.get_by_label("Min replicas").fill("0")


def test_create_find_edit_and_delete_a_model(page: Page, kmm_url: str, admin: kube.Caller,
                                             namespace: str, screenshot: Any) -> None:
    open_form(page, kmm_url, namespace)
    fill_new_model(page, "from-browser")
    page.locator("#fieldset-server > summary").click()  # folded until opened
    page.get_by_role("button", name="Add variable").click()
    page.locator("#id_env-0-name").fill("LOG_LEVEL")
    page.locator("#id_env-0-value").fill("debug")
    screenshot("form")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("heading", name="from-browser")).to_be_visible()
    expect(page.locator(".toast")).to_contain_text("was added")
    screenshot("detail")
    assert kube.get_model(admin, namespace, "from-browser")["spec"]["env"] == {"LOG_LEVEL": "debug"}

    page.goto(f"{kmm_url}/?namespace={namespace}")
    row = page.locator(f"tr[data-model='{namespace}/from-browser']")
    expect(row).to_contain_text("hf://org/browser-model")
    screenshot("list")

    row.get_by_role("link", name="Edit from-browser").click()
    page.get_by_label("Owner").fill("browser-team")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was changed")
    assert kube.get_model(admin, namespace, "from-browser")["spec"]["owner"] == "browser-team"

    page.get_by_role("link", name="Delete").first.click()
    expect(page.get_by_role("heading", name="Delete model from-browser?")).to_be_visible()
    page.get_by_role("button", name="Yes, delete from-browser").click()
    expect(page.locator(".toast")).to_contain_text("was deleted")
    with pytest.raises(kube.NotFound):
        kube.get_model(admin, namespace, "from-browser")


def test_a_field_error_shows_on_its_field(page: Page, kmm_url: str, admin: kube.Caller,
                                          namespace: str, screenshot: Any) -> None:
    open_form(page, kmm_url, namespace)
    fill_new_model(page, "broken")
    page.get_by_label("Min replicas").fill("3")
    page.get_by_label("Max replicas").fill("1")
    page.get_by_role("button", name="Save", exact=True).click()

    field_row = page.locator("#row-minReplicas")
    expect(field_row.locator(".errorlist")).to_have_text(
        "minReplicas should be less than or equal to maxReplicas.")
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("broken")
    expect(page.locator("#error-summary")).to_be_focused()
    screenshot("form-field-error")
    assert kube.list_models(admin, namespace) == []


def test_every_error_arrives_in_one_round_with_linked_summary(
        page: Page, kmm_url: str, admin: kube.Caller, namespace: str, screenshot: Any) -> None:
    """A bad context length used to hide the schema's rules until a second submit."""
    open_form(page, kmm_url, namespace)
    fill_new_model(page, "llama-3.1-8b-instruct")
    page.get_by_role("combobox", name="Engine").select_option("OLlama")
    page.get_by_label("Min replicas").fill("3")
    page.get_by_label("Max replicas").fill("1")
    page.locator("#fieldset-listing > summary").click()  # folded until opened
    page.get_by_label("Context length (tokens)").fill("128k")
    page.locator("#fieldset-adapters > summary").click()
    page.get_by_role("button", name="Add adapter").click()
    page.locator("#id_adapters-0-name").fill("sql")
    page.locator("#id_adapters-0-url").fill("hf://org/sql-lora")
    page.get_by_role("button", name="Save", exact=True).click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Please correct the 3 errors below")
    links = summary.get_by_role("link")
    expect(links).to_have_count(3)
    expect(summary).to_contain_text("minReplicas should be less than or equal to maxReplicas.")
    expect(summary).to_contain_text("adapters only supported with VLLM engine.")
    expect(summary).to_contain_text("Must be a whole number of tokens")
    screenshot("form-errors-one-round")

    summary.get_by_role("link", name="Context length (tokens)", exact=False).click()
    expect(page.locator("#id_listing_context_length")).to_be_in_viewport()
    assert page.url.endswith("#id_listing_context_length")
    expect(page.locator("#id_listing_context_length")).to_have_value("128k")

    page.get_by_label("Context length (tokens)").fill("131072")
    page.get_by_label("Min replicas").fill("0")
    page.get_by_role("combobox", name="Engine").select_option("VLLM")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="llama-3.1-8b-instruct")).to_be_visible()
    assert kube.get_model(admin, namespace, "llama-3.1-8b-instruct")["spec"]["adapters"] == [
        {"name": "sql", "url": "hf://org/sql-lora"}]


def test_one_error_is_called_an_error(page: Page, kmm_url: str, namespace: str) -> None:
    open_form(page, kmm_url, namespace)
    fill_new_model(page, "qwen2.5-7b")
    page.get_by_label("Max replicas").fill("0")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#error-summary")).to_contain_text("Please correct the error below")
    expect(page.locator("#error-summary").get_by_role("link")).to_have_count(1)


def test_a_change_made_with_kubectl_meanwhile_is_a_conflict_with_a_diff(
        page: Page, kmm_url: str, admin: kube.Caller, namespace: str, screenshot: Any) -> None:
    kube.create_model(admin, make_model(namespace, "contested"))
    page.goto(f"{kmm_url}/models/{namespace}/contested/change/")
    page.get_by_label("Target requests").fill("12")

    kubectl("patch", "models.kubeai.org", "contested", "-n", namespace, "--type=merge",
            "-p", json.dumps({"spec": {"image": "kubectl/was-here:1", "targetRequests": 50}}))
    expect(page.locator("#changed-elsewhere")).to_contain_text("Someone changed this model")
    page.get_by_role("button", name="Save", exact=True).click()

    conflict = page.locator("#conflict")
    expect(conflict).to_contain_text("someone else changed this model")
    expect(conflict.locator("pre").first).to_contain_text("image: kubectl/was-here:1")
    expect(conflict.locator("pre").nth(1)).to_contain_text("targetRequests: 12")
    expect(page.get_by_label("Target requests")).to_have_value("12")
    screenshot("conflict")

    page.get_by_role("button", name="Apply my changes to the current version").click()
    expect(page.locator(".toast")).to_contain_text("was changed")
    spec = kube.get_model(admin, namespace, "contested")["spec"]
    assert (spec["image"], spec["targetRequests"]) == ("kubectl/was-here:1", 12)


def test_the_open_list_shows_kubectl_changes_within_two_seconds(
        page: Page, kmm_url: str, admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "steady"))
    page.goto(f"{kmm_url}/?namespace={namespace}&o=name")
    page.get_by_label("Search by name or URL").fill("typed but not sent")
    page.get_by_label(f"Select steady in {namespace}").check()

    kubectl("create", "-f", "-", stdin=json.dumps(
        {"apiVersion": "kubeai.org/v1", "kind": "Model", **make_model(namespace, "arrived")}))
    expect(page.locator(f"tr[data-model='{namespace}/arrived']")).to_be_visible(timeout=2000)
    set_status(namespace, "steady", {"replicas": {"all": 1, "ready": 1}})
    expect(page.locator(f"tr[data-model='{namespace}/steady'] .state")).to_have_text(
        "Ready", timeout=2000)

    expect(page.get_by_label("Search by name or URL")).to_have_value("typed but not sent")
    expect(page.get_by_label(f"Select steady in {namespace}")).to_be_checked()
    assert "o=name" in page.url


def test_the_open_detail_page_shows_status_changes(page: Page, kmm_url: str,
                                                   admin: kube.Caller, namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "watched"))
    page.goto(f"{kmm_url}/models/{namespace}/watched/")
    set_status(namespace, "watched", {"replicas": {"all": 3, "ready": 2}})
    expect(page.get_by_test_id("replicas")).to_have_text("2 / 3", timeout=2000)


def test_bulk_delete_asks_then_deletes_every_selected_model(
        page: Page, kmm_url: str, admin: kube.Caller, namespace: str) -> None:
    for name in ("bulk-a", "bulk-b", "bulk-keep"):
        kube.create_model(admin, make_model(namespace, name))
    kube.patch_model(admin, namespace, "bulk-a",
                     {"metadata": {"annotations": {"openrouter.kmm.io/publish": "true"}}})
    page.goto(f"{kmm_url}/?namespace={namespace}")
    page.get_by_label(f"Select bulk-a in {namespace}").check()
    page.get_by_label(f"Select bulk-b in {namespace}").check()
    page.get_by_role("button", name="Go").click()

    expect(page.get_by_role("heading", name="Delete 2 models?")).to_be_visible()
    expect(page.locator(".delete-list li")).to_have_count(2)
    expect(page.locator(".delete-list li").filter(has_text="bulk-a")).to_contain_text("Public")
    expect(page.get_by_text("1 of them is published")).to_be_visible()
    page.get_by_role("button", name="Yes, delete 2 models").click()

    expect(page.locator(".toast")).to_contain_text("Deleted 2 models.")
    assert [m["metadata"]["name"] for m in kube.list_models(admin, namespace)] == ["bulk-keep"]


def test_yaml_mode_creates_and_explains_errors_by_line(page: Page, kmm_url: str,
                                                       admin: kube.Caller,
                                                       namespace: str) -> None:
    page.goto(f"{kmm_url}/add/?mode=yaml")
    editor = page.get_by_label("Model YAML")
    editor.fill(f"metadata:\n  name: via-yaml\n  namespace: {namespace}\n"
                "spec:\n  url: hf://org/m\n  engine: Unknown\n  features: [TextGeneration]\n")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".problems")).to_contain_text("Line 6")
    expect(page.locator(".problems")).to_contain_text("spec.engine")

    editor.fill(editor.input_value().replace("engine: Unknown", "engine: VLLM"))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was added")
    assert kube.get_model(admin, namespace, "via-yaml")["spec"]["engine"] == "VLLM"


def test_a_model_can_be_added_with_the_keyboard_alone(page: Page, kmm_url: str,
                                                      admin: kube.Caller, namespace: str) -> None:
    page.goto(f"{kmm_url}/?namespace={namespace}")

    def tab_to(selector: str) -> None:
        for _ in range(200):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("a.button[href^='/add/']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Add model")).to_be_visible()
    for selector, text in (("#id_name", "by-keys"), ("#id_url", "hf://org/keys")):
        tab_to(selector)
        page.keyboard.type(text)
    tab_to("#id_engine")
    page.keyboard.press("ArrowDown")  # from "Choose an engine" to OLlama,
    page.keyboard.press("ArrowDown")  # then VLLM, which serves hf:// URLs
    tab_to("#id_features_0")
    page.keyboard.press("Space")
    tab_to("button[name=_save]")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="by-keys")).to_be_visible()
    assert kube.get_model(admin, namespace, "by-keys")["spec"]["features"] == ["TextGeneration"]


@pytest.mark.parametrize("path", ["/?namespace={ns}", "/models/{ns}/scanned/",
                                  "/models/{ns}/scanned/change/", "/add/"])
def test_axe_finds_no_serious_or_critical_violations(page: Page, kmm_url: str,
                                                     admin: kube.Caller, namespace: str,
                                                     path: str) -> None:
    kube.create_model(admin, make_model(namespace, "scanned"))
    page.goto(kmm_url + path.format(ns=namespace))
    results = Axe().run(page)
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_dark_mode_follows_the_os(browser: Any, kmm_url: str, admin: kube.Caller,
                                  namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "night"))
    context = browser.new_context(color_scheme="dark", viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.goto(f"{kmm_url}/?namespace={namespace}")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.screenshot(path="test-artifacts/screenshots/list-dark-1024.png", full_page=True)
    context.close()
    assert background == "rgb(20, 24, 27)"
