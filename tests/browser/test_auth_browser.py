"""Sign-in, a refused action and sign-out in a real browser (token mode)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

import kube
from devcluster.controlplane import ControlPlane
from tests.conftest import make_model, wait_for_cache
from tests.rbac import Tenancy


def test_sign_in_a_refused_action_and_sign_out(page: Page, token_kmm: str,
                                               control_plane: ControlPlane,
                                               admin: kube.Caller, tenancy: Tenancy,
                                               screenshot: Any) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)

    page.goto(f"{token_kmm}/?namespace={tenancy.ns_a}")
    expect(page).to_have_url(f"{token_kmm}/signin/?next=%2F%3Fnamespace%3D{tenancy.ns_a}")
    page.get_by_label("Kubernetes bearer token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#row-token .errorlist")).to_contain_text("did not accept this token")
    screenshot("signin-error")

    page.get_by_label("Kubernetes bearer token").fill(control_plane.tokens["bob"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".frame-facts")).to_contain_text("bob")
    expect(page.locator(f"tr[data-model='{tenancy.ns_a}/resident']")).to_be_visible()
    expect(page.get_by_role("link", name="Add model")).to_have_count(0)

    # bob may view but not delete: the server refuses even a hand-made request.
    page.goto(f"{token_kmm}/models/{tenancy.ns_a}/resident/delete/")
    page.get_by_role("button", name="Yes, delete resident").click()
    expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
    expect(page.locator(".error-message")).to_contain_text("you may not delete")
    screenshot("forbidden")
    assert kube.get_model(admin, tenancy.ns_a, "resident")

    page.goto(f"{token_kmm}/")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{token_kmm}/signin/")
    page.goto(f"{token_kmm}/")
    expect(page.get_by_role("heading", name="Sign in to kmm")).to_be_visible()
    assert violations == []


def test_htmx_works_under_the_strict_csp(page: Page, token_kmm: str,
                                         control_plane: ControlPlane, admin: kube.Caller,
                                         tenancy: Tenancy) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(f"{token_kmm}/signin/")
    page.get_by_label("Kubernetes bearer token").fill(control_plane.tokens["alice"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{token_kmm}/models/{tenancy.ns_a}/resident/change/")
    page.get_by_role("button", name="Add label").click()
    expect(page.locator("#id_labels-0-key")).to_be_visible()
    kube.create_model(admin, make_model(tenancy.ns_a, "late-arrival"))
    wait_for_cache(admin, tenancy.ns_a)
    page.goto(f"{token_kmm}/?namespace={tenancy.ns_a}")
    expect(page.locator(f"tr[data-model='{tenancy.ns_a}/late-arrival']")).to_be_visible()
    assert violations == []
