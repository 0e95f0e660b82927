"""Browser tests: Debian's Chromium driven by Playwright against kmm served for real.

kmm runs in its own process (Django's threaded server with the test settings)
against the session's control plane; screenshots go to test-artifacts/screenshots.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kube
from devcluster import controlplane
from devcluster.controlplane import free_port, stop_process
from tests.rbac import Tenancy, setup_tenancy

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("KMM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    return {"executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, Any]:
    return {"viewport": {"width": 1280, "height": 900}}


def start_kmm(plane: controlplane.ControlPlane, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings",
                       KUBECONFIG=str(plane.kubeconfig), PYTHONPATH=str(ROOT), **env)
    environment.pop("KMM_TEST_KUBECONFIG", None)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "test-artifacts" / f"kmm-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)  # noqa: S310 - loopback
            return process, url
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"kmm did not start; see {log.name}")


@pytest.fixture(scope="session")
def kmm_url(control_plane: controlplane.ControlPlane) -> Iterator[str]:
    process, url = start_kmm(control_plane)
    yield url
    stop_process(process, grace=10)


@pytest.fixture(scope="module")
def token_kmm(control_plane: controlplane.ControlPlane) -> Iterator[str]:
    """kmm in token mode: people sign in with their own Kubernetes token."""
    process, url = start_kmm(control_plane, KMM_AUTH_MODE="token", KMM_SECURE_COOKIES="false")
    yield url
    stop_process(process, grace=10)


@pytest.fixture(scope="module")
def tenancy(control_plane: controlplane.ControlPlane) -> Tenancy:
    return setup_tenancy(kube.default_cluster().as_app())


@pytest.fixture
def screenshot(page: Any) -> Any:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def choose_profile(page: Any, name: str) -> None:
    """Pick a resource profile in the model form: a choice of the cluster's profiles when
    KubeAI's config is installed (earlier tests may have installed it), else a text box."""
    field = page.get_by_label("Resource profile")
    if field.evaluate("element => element.tagName") == "SELECT":
        field.select_option(name)
    else:
        field.fill(name)


def download_export(page: Any, model_url: str, folder: Path) -> tuple[Path, dict[str, Any]]:
    """Open a model's page, take its "Export clean YAML" download: the file, and what it
    says."""
    import yaml

    page.goto(model_url)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export clean YAML").click()
    exported = folder / "model.yaml"
    download.value.save_as(exported)
    return exported, yaml.safe_load(exported.read_text())
