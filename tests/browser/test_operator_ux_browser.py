"""Issue 12: the operator's walk through kmm in a real Chromium, against a real API server.

Each defect of the walk has a test here that failed before its fix; names are dotted
as real KubeAI models are (llama-3.1-8b-instruct-l4).
"""

from __future__ import annotations

import copy
import os
import re
import secrets
import signal
import subprocess
import sys
import urllib.request
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

import kube
from devcluster.controlplane import free_port
from devcluster.samples import SAMPLES
from tests.browser.conftest import ROOT, SCREENSHOTS
from tests.browser.test_ui_browser import fill_new_model
from tests.conftest import eventually, make_model, set_status
from tests.rbac import Tenancy

DOTTED = ("llama-3.1-8b-instruct-l4", "qwen2.5-7b-cached")


def collect_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of the page (htmx logs a swapError there)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_the_live_list_keeps_polling_with_dotted_names_and_keeps_ticked_boxes(
        page: Page, kmm_url: str, admin: kube.Caller, namespace: str) -> None:
    for name in (*DOTTED, "plain"):
        kube.create_model(admin, make_model(namespace, name))
    errors = collect_errors(page)
    page.goto(f"{kmm_url}/?namespace={namespace}")
    for name in DOTTED:
        page.get_by_label(f"Select {name} in {namespace}").check()

    llama = page.locator(f"tr[data-model='{namespace}/{DOTTED[0]}']")
    for ready in (1, 2, 3):  # three changes, so three swaps of the results
        set_status(namespace, DOTTED[0], {"replicas": {"all": ready, "ready": ready}})
        expect(llama.locator(".replicas")).to_contain_text(f"{ready}/{ready}", timeout=3000)
        for name in DOTTED:
            expect(page.get_by_label(f"Select {name} in {namespace}")).to_be_checked()
        expect(page.get_by_label(f"Select plain in {namespace}")).not_to_be_checked()
    assert errors == []


def test_unsaved_edits_survive_switching_form_to_yaml_and_back(
        page: Page, kmm_url: str, admin: kube.Caller, namespace: str) -> None:
    page.goto(f"{kmm_url}/add/?namespace={namespace}")
    fill_new_model(page, "Llama 3.1 8B")  # not a valid name yet: it goes across as typed
    page.get_by_label("Max replicas").fill("5")
    page.get_by_label("Target requests").fill("7")

    page.get_by_role("button", name="YAML", exact=True).click()
    editor = page.get_by_label("Model YAML")
    expect(editor).to_contain_text("maxReplicas: 5")
    expect(editor).to_contain_text("targetRequests: 7")
    expect(editor).to_contain_text("name: Llama 3.1 8B")
    text = editor.input_value().replace("name: Llama 3.1 8B", "name: llama-3.1-8b-switched")
    editor.fill(text.replace("metadata:\n", "metadata:\n  labels:\n    team: search\n", 1))

    page.get_by_role("button", name="Form", exact=True).click()
    expect(page.get_by_label("Max replicas")).to_have_value("5")
    expect(page.get_by_label("Target requests")).to_have_value("7")
    expect(page.locator("#id_labels-0-key")).to_have_value("team")
    expect(page.locator("#id_labels-0-value")).to_have_value("search")
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value(
        "llama-3.1-8b-switched")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".toast")).to_contain_text("was added")
    saved = kube.get_model(admin, namespace, "llama-3.1-8b-switched")
    assert (saved["spec"]["maxReplicas"], saved["spec"]["targetRequests"]) == (5, 7)
    assert saved["metadata"]["labels"] == {"team": "search"}


def test_editing_keeps_unsaved_edits_across_tabs(page: Page, kmm_url: str, admin: kube.Caller,
                                                 namespace: str) -> None:
    kube.create_model(admin, make_model(namespace, "qwen2.5-7b-cached", minReplicas=0, maxReplicas=2))
    page.goto(f"{kmm_url}/models/{namespace}/qwen2.5-7b-cached/change/")
    page.get_by_label("Max replicas").fill("4")
    page.get_by_role("button", name="YAML", exact=True).click()
    editor = page.get_by_label("Model YAML")
    expect(editor).to_contain_text("maxReplicas: 4")
    editor.fill(editor.input_value().replace("maxReplicas: 4", "maxReplicas: 6"))
    page.get_by_role("button", name="Form", exact=True).click()
    expect(page.get_by_label("Max replicas")).to_have_value("6")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was changed")
    assert kube.get_model(admin, namespace, "qwen2.5-7b-cached")["spec"]["maxReplicas"] == 6


def test_make_run_against_a_configured_cluster_serves_pages_and_their_styles(
        page: Page, control_plane: Any) -> None:
    """`make run` with KUBECONFIG set, a secret key and no KMM_DEBUG (the README's path)."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("KMM_", "DJANGO_"))}
    environment.update(KUBECONFIG=str(control_plane.kubeconfig), KMM_SECRET_KEY=secrets.token_urlsafe(50),
                       PYTHONPATH=str(ROOT))
    log = open(ROOT / "test-artifacts" / f"make-run-{port}.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "devcluster", "serve", "--port", str(port)],
                              cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        assert eventually(lambda: _answers(f"{url}/healthz"), 60), f"see {log.name}"
        response = page.goto(f"{url}/")
        assert response is not None
        assert response.status == 200, response.status
        expect(page.locator("header.frame")).to_have_css("background-color", "rgb(15, 61, 87)")
        stylesheet = page.locator("link[rel=stylesheet]").get_attribute("href") or ""
        assert re.fullmatch(r"/static/kmm/kmm\.[0-9a-f]{12}\.css", stylesheet), stylesheet
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
        log.close()


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback
    except OSError:
        return False
    return True


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1440, 1024])
def test_axe_finds_nothing_serious_in_light_and_dark_at_1440_and_1024_px(
        browser: Any, kmm_url: str, admin: kube.Caller, namespace: str, scheme: str,
        width: int) -> None:
    kube.create_model(admin, make_model(namespace, DOTTED[0]))
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900})
    page = context.new_page()
    found = {}
    for path in ("/?namespace={ns}", "/models/{ns}/{name}/", "/models/{ns}/{name}/change/",
                 "/models/{ns}/{name}/delete/", "/add/?namespace={ns}"):
        page.goto(kmm_url + path.format(ns=namespace, name=DOTTED[0]))
        violations = Axe().run(page).response["violations"]
        found[path] = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                       for v in violations if v["impact"] in ("serious", "critical")]
    context.close()
    assert found == {path: [] for path in found}


def test_a_namespace_typo_is_an_error_on_the_namespace_with_everything_kept(
        page: Page, kmm_url: str, admin: kube.Caller, namespace: str) -> None:
    page.goto(f"{kmm_url}/add/?namespace={namespace}")
    choice = page.locator("#id_namespace")  # a choice: kmm's identity may list namespaces
    expect(choice).to_have_value(namespace)
    assert choice.evaluate("element => element.tagName") == "SELECT"
    fill_new_model(page, "llama-3.1-8b-typo")
    page.locator("#fieldset-server > summary").click()  # folded until opened
    page.get_by_role("button", name="Add variable").click()
    page.locator("#id_env-0-name").fill("HF_HUB_OFFLINE")
    page.locator("#id_env-0-value").fill("1")
    page.get_by_role("button", name="YAML", exact=True).click()

    editor = page.get_by_label("Model YAML")
    editor.fill(editor.input_value().replace(f"namespace: {namespace}", "namespace: kubeia"))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".problems")).to_contain_text("There is no namespace “kubeia”")
    expect(page.locator(".problems")).to_contain_text("metadata.namespace")
    expect(editor).to_contain_text("HF_HUB_OFFLINE")

    page.get_by_role("button", name="Form", exact=True).click()
    expect(choice).to_have_value("kubeia")
    expect(page.locator("#id_env-0-name")).to_have_value("HF_HUB_OFFLINE")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#row-namespace .errorlist")).to_have_text(
        "There is no namespace “kubeia”.")
    expect(page.locator("#id_env-0-value")).to_have_value("1")
    choice.select_option(namespace)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".toast")).to_contain_text("was added")
    assert kube.get_model(admin, namespace, "llama-3.1-8b-typo")["spec"]["env"] == {
        "HF_HUB_OFFLINE": "1"}


def test_without_namespace_listing_a_typed_namespace_typo_is_a_field_error(
        page: Page, token_kmm: str, control_plane: Any, tenancy: Tenancy) -> None:
    page.goto(f"{token_kmm}/signin/")
    page.get_by_label("Kubernetes bearer token").fill(control_plane.tokens["alice"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{token_kmm}/add/")
    typed = page.locator("#id_namespace")
    assert typed.evaluate("element => element.tagName") == "INPUT"  # alice may not list them
    typed.fill(tenancy.ns_a + "x")
    fill_new_model(page, "qwen2.5-7b-typo")
    page.get_by_role("button", name="Add label").click()
    page.locator("#id_labels-0-key").fill("team")
    page.locator("#id_labels-0-value").fill("search")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#row-namespace .errorlist")).to_contain_text(
        f"You may not create models in namespace “{tenancy.ns_a}x”")
    expect(typed).to_have_value(tenancy.ns_a + "x")
    expect(page.locator("#id_labels-0-value")).to_have_value("search")
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("qwen2.5-7b-typo")


def seed_samples(admin: kube.Caller, namespace: str) -> None:
    """`make run`'s sample models, in the test's namespace, with statuses KubeAI would write."""
    for sample in SAMPLES:
        body = copy.deepcopy(sample)
        body["metadata"]["namespace"] = namespace
        kube.create_model(admin, body)
    set_status(namespace, DOTTED[0], {"replicas": {"all": 1, "ready": 1}})
    set_status(namespace, DOTTED[1], {"replicas": {"all": 2, "ready": 1},
                                      "cache": {"loaded": False}})
    set_status(namespace, "gemma2-2b-cpu", {"replicas": {"all": 1, "ready": 0}})


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1440, 1024])
def test_the_list_fits_with_state_next_to_name(browser: Any, kmm_url: str, admin: kube.Caller,
                                               namespace: str, scheme: str, width: int) -> None:
    seed_samples(admin, namespace)
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900})
    page = context.new_page()
    for url in (f"{kmm_url}/?namespace={namespace}", f"{kmm_url}/"):
        page.goto(url)
        headers = [h.strip() for h in page.locator("table.changelist thead th").all_inner_texts()]
        assert headers[1].startswith("Name")
        assert headers[2] == "State"
        assert "Published" in " ".join(headers)
        width_needed, width_shown = page.locator(".table-scroll").evaluate(
            "box => [box.scrollWidth, box.clientWidth]")
        assert width_needed <= width_shown, url  # no column hides off to the right
        right_edges = page.locator(".row-actions").evaluate_all(
            "cells => cells.map(cell => cell.getBoundingClientRect().right)")
        assert max(right_edges) <= width, url  # the row actions are on screen
    page.goto(f"{kmm_url}/?namespace={namespace}")
    llama = page.locator(f"tr[data-model='{namespace}/{DOTTED[0]}']")
    expect(llama.locator(".state")).to_have_attribute("title", re.compile("1 of 1 replicas ready"))
    page.screenshot(path=str(SCREENSHOTS / f"list-{width}-{scheme}.png"), full_page=True)
    context.close()


def test_the_published_filter_shows_only_published_models(page: Page, kmm_url: str,
                                                            admin: kube.Caller,
                                                            namespace: str) -> None:
    seed_samples(admin, namespace)
    page.goto(f"{kmm_url}/?namespace={namespace}")
    page.get_by_label("Published", exact=True).select_option("Published")
    expect(page).to_have_url(re.compile("published=yes"))
    rows = page.locator("table.changelist tbody tr")
    expect(rows).to_have_count(2)  # the two samples annotated publish: "true"
    expect(rows.locator(".tag-public")).to_have_count(2)


def test_slash_searches_and_arrow_keys_walk_the_rows(page: Page, kmm_url: str,
                                                     admin: kube.Caller, namespace: str) -> None:
    seed_samples(admin, namespace)
    page.goto(f"{kmm_url}/?namespace={namespace}&o=name")
    page.keyboard.press("/")
    expect(page.locator("#searchbar")).to_be_focused()

    page.goto(f"{kmm_url}/?namespace={namespace}&o=name")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the models")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the first row's checkbox
    page.keyboard.press("Tab")
    names = sorted(sample["metadata"]["name"] for sample in SAMPLES)
    expect(page.locator(":focus")).to_have_text(names[0])
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator(":focus")).to_have_text(names[2])
    page.keyboard.press("ArrowUp")
    expect(page.locator(":focus")).to_have_text(names[1])


def test_the_add_form_folds_what_most_models_leave_empty(page: Page, kmm_url: str,
                                                         admin: kube.Caller, namespace: str,
                                                         screenshot: Any) -> None:
    page.goto(f"{kmm_url}/add/?namespace={namespace}")
    expect(page.get_by_label("Engine")).to_have_value("")
    for folded in ("load-balancing", "server", "adapters", "files", "listing"):
        expect(page.locator(f"details#fieldset-{folded}")).not_to_have_attribute("open", "")
    page.get_by_role("textbox", name="URL", exact=True).fill("hf://Qwen/Qwen2.5-7B-Instruct")
    page.get_by_label("Engine").select_option("OLlama")
    expect(page.locator("#url-engine-warning")).to_contain_text("ollama://")
    page.get_by_label("Engine").select_option("VLLM")
    expect(page.locator("#url-engine-warning")).to_be_hidden()
    expect(page.locator("#row-replicas")).to_contain_text("KubeAI's autoscaler manages")
    expect(page.locator("#row-listing_sampling_parameters .help")).not_to_contain_text(
        "omma-separated")
    screenshot("add-form-collapsed")
    page.mouse.wheel(0, 1500)
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_in_viewport()

    seed_samples(admin, namespace)
    page.goto(f"{kmm_url}/models/{namespace}/{DOTTED[0]}/change/")
    for opened in ("server", "adapters", "listing", "load-balancing"):  # they hold values
        expect(page.locator(f"details#fieldset-{opened}")).to_have_attribute("open", "")
    expect(page.locator("details#fieldset-files")).not_to_have_attribute("open", "")
    expect(page.get_by_label("Prompt price (USD per 1M tokens)")).to_have_value("0.02")
    page.goto(f"{kmm_url}/models/{namespace}/gemma2-2b-cpu/change/")
    # The API server wrote loadBalancing's defaults into the model: they do not count.
    expect(page.locator("details#fieldset-load-balancing")).not_to_have_attribute("open", "")


def test_the_detail_page_shows_what_is_set(page: Page, kmm_url: str, admin: kube.Caller,
                                           namespace: str, screenshot: Any) -> None:
    seed_samples(admin, namespace)
    kube.patch_model(admin, namespace, DOTTED[0], {"spec": {"env": {"HF_HUB_OFFLINE": "1"}}})
    page.goto(f"{kmm_url}/models/{namespace}/{DOTTED[0]}/")
    expect(page.get_by_role("region", name="Server", exact=True)).to_contain_text(
        "HF_HUB_OFFLINE=1")
    expect(page.locator(".detail-group .tag").filter(has_text="team=platform")).to_be_visible()
    expect(page.locator(".detail-group dt").filter(has_text="Priority class")).to_have_count(0)
    expect(page.get_by_text("Stop publishing writes the annotation")).to_be_visible()
    screenshot("detail")
