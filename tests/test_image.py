"""The container image, without a Docker engine: the Dockerfile's own commands, run here.

The build context is made from .dockerignore, collectstatic runs as the Dockerfile's RUN line
does, and gunicorn starts with the Dockerfile's CMD, production settings (no KMM_DEBUG) and
the chart's ServiceAccount (token mode): it must serve /healthz, /readyz and the public list.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import runpy
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import kube
from devcluster.controlplane import free_port, stop_process
from tests.chartkit import install_rbac, token_kubeconfig
from tests.conftest import make_model

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
VENV_BIN = Path(sys.executable).parent


def dockerfile_cmd() -> list[str]:
    lines = [line for line in DOCKERFILE.splitlines() if line.startswith("CMD ")]
    assert len(lines) == 1
    return list(json.loads(lines[0].removeprefix("CMD ")))


def ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, p.removeprefix("**/")) for p in patterns)


def build_context(target: Path) -> Path:
    """The files `docker build .` sends: the repository less .dockerignore."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for entry in ROOT.iterdir():
        if ignored(entry.name, patterns):
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name,
                            ignore=lambda _d, names: [n for n in names if ignored(n, patterns)])
        else:
            shutil.copy2(entry, target / entry.name)
    return target


# --- the Dockerfile itself ------------------------------------------------------------------

def test_the_image_is_multi_stage_slim_and_runs_as_a_non_root_user() -> None:
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, re.MULTILINE)
    assert len(stages) == 2
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE
    assert re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE) == ["10001:10001"]
    assert "COPY --from=build /opt/kmm /opt/kmm" in DOCKERFILE


def test_the_image_installs_runtime_requirements_only() -> None:
    installs = re.findall(r"pip install .*", DOCKERFILE)
    assert installs == ["pip install --require-virtualenv -r /tmp/requirements.txt"]
    assert "requirements-dev" not in DOCKERFILE
    assert "COPY requirements.txt /tmp/requirements.txt" in DOCKERFILE


def test_the_build_context_leaves_out_tests_tools_and_secrets(tmp_path: Path) -> None:
    context = build_context(tmp_path)
    names = {p.name for p in context.iterdir()}
    assert {"manage.py", "kmm", "kube", "modelspec", "public_api", "templates", "static",
            "requirements.txt"} <= names
    assert not names & {"tests", "devcluster", "chart", ".git", ".venv", ".kmm", "bench",
                        "requirements-dev.txt", "staticfiles"}
    assert not list(context.rglob("__pycache__"))


def test_the_start_command_is_gunicorn_with_the_projects_config() -> None:
    assert dockerfile_cmd() == ["gunicorn", "-c", "kmm/gunicorn.conf.py", "kmm.wsgi"]


@pytest.mark.parametrize(("env", "expected"), [
    ({}, {"bind": ["0.0.0.0:8000", "0.0.0.0:9100"], "workers": 2, "threads": 4, "timeout": 60}),
    ({"PORT": "9000", "KMM_WORKERS": "3", "KMM_THREADS": "8", "KMM_REQUEST_TIMEOUT": "30",
      "KMM_METRICS_PORT": "9200"},
     {"bind": ["0.0.0.0:9000", "0.0.0.0:9200"], "workers": 3, "threads": 8, "timeout": 30}),
    ({"KMM_METRICS_PORT": "0"}, {"bind": ["0.0.0.0:8000"]}),
])
def test_gunicorn_reads_port_workers_and_threads_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: dict[str, Any]) -> None:
    for name in ("PORT", "KMM_WORKERS", "KMM_THREADS", "KMM_REQUEST_TIMEOUT", "KMM_METRICS_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(ROOT / "kmm" / "gunicorn.conf.py"))
    assert {key: config[key] for key in expected} == expected
    assert config["accesslog"] == "-"
    assert config["worker_class"] == "gthread"
    assert not config.get("preload_app", False)  # each worker starts its watch cache lazily


def test_gunicorn_refuses_a_bad_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMM_WORKERS", "zero")
    with pytest.raises(SystemExit, match="KMM_WORKERS"):
        runpy.run_path(str(ROOT / "kmm" / "gunicorn.conf.py"))


# --- the image's commands, run ----------------------------------------------------------------

@dataclass
class Served:
    url: str
    namespace: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def get(self, path: str) -> tuple[int, str, str]:
        request = urllib.request.Request(self.url + path)  # noqa: S310 - http://127.0.0.1
        try:
            with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
                return response.status, response.headers["Content-Type"], response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read().decode()

    def get_until(self, path: str, done: Callable[[int, str], bool],
                  timeout: float = 30) -> tuple[int, str, str]:
        """GET `path` until `done(status, body)`, as a probe or a client honouring 503 would.

        Each gunicorn worker starts its own watch cache on its first request, so the first
        answer of a fresh worker may be 503 until that cache has listed the models.
        """
        deadline = time.monotonic() + timeout
        while True:
            status, content_type, body = self.get(path)
            if done(status, body) or time.monotonic() > deadline:
                return status, content_type, body
            time.sleep(0.5)


@pytest.fixture(scope="module")
def served(control_plane: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """gunicorn as the image runs it, as the chart's ServiceAccount (default values)."""
    admin = kube.default_cluster().as_app()
    namespace = f"image-{uuid.uuid4().hex[:10]}"
    kube.create_namespace(admin, namespace)
    kube.create_model(admin, make_model(namespace, "served-model"))
    work = tmp_path_factory.mktemp("image")
    context = build_context(work / "app")
    secret_key = work / "secret-key"
    secret_key.write_text(uuid.uuid4().hex * 2)
    base_env = {"PATH": f"{VENV_BIN}{os.pathsep}/usr/bin:/bin", "HOME": str(work),
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"}

    # RUN KMM_SECRET_KEY=... python manage.py collectstatic --noinput
    assert "manage.py collectstatic --noinput" in DOCKERFILE
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=context,
                   env={**base_env, "KMM_SECRET_KEY": secrets.token_urlsafe(50)}, check=True,
                   capture_output=True, timeout=120)
    assert (context / "staticfiles" / "staticfiles.json").exists()

    port = free_port()
    kubeconfig = token_kubeconfig(install_rbac(namespace), work / "kubeconfig")
    env = {
        **base_env,
        # The image's ENV, then the chart's environment (default values).
        "PORT": str(port), "KMM_WORKERS": "2", "KMM_THREADS": "2",
        "KMM_SECRET_KEY_FILE": str(secret_key), "KMM_ALLOWED_HOSTS": "127.0.0.1",
        "KMM_AUTH_MODE": "token", "KMM_SECURE_COOKIES": "true", "KMM_PUBLISH_MODE": "all",
        "KMM_KUBE_TIMEOUT": "15", "KMM_LOG_LEVEL": "INFO", "KUBECONFIG": str(kubeconfig),
        # Loopback only here; the image binds 0.0.0.0:$PORT (see the test above).
        "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}",
    }
    stdout, stderr = work / "stdout.log", work / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(dockerfile_cmd(), cwd=context, env=env, stdout=out,
                                   stderr=err)
    server = Served(f"http://127.0.0.1:{port}", namespace, process, stdout, stderr)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError("gunicorn exited:\n" + stderr.read_text())
            try:
                if server.get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield server
    finally:
        stop_process(process, grace=30)


def test_the_image_command_serves_healthz(served: Served) -> None:
    assert served.get("/healthz")[0::2] == (200, "ok")


def test_the_image_command_logs_access_to_stdout_with_two_workers(served: Served) -> None:
    served.get("/healthz?from=access-log-test")
    time.sleep(0.5)
    assert "GET /healthz?from=access-log-test HTTP/1.1\" 200" in served.stdout.read_text()
    assert served.stderr.read_text().count("Booting worker") == 2


def test_the_image_command_is_ready_as_the_charts_service_account(served: Served) -> None:
    status, _, body = served.get_until("/readyz", lambda status, _: status == 200)
    assert (status, body) == (200, "ok")


def test_the_image_command_refuses_unknown_hosts_and_serves_no_debug_pages(
        served: Served) -> None:
    request = urllib.request.Request(served.url + "/healthz",  # noqa: S310
                                     headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=20)  # noqa: S310
    status, _, body = served.get("/public/no-such-page")  # public: no sign-in redirect
    assert refused.value.code == 400
    assert status == 404
    assert "URLconf" not in body  # Django's debug 404 page names the URLconf
    assert "Traceback" not in body


def test_the_image_command_serves_the_public_models(served: Served) -> None:
    status, content_type, body = served.get_until(
        "/public/api/models", lambda status, body: status == 200 and "served-model" in body)
    assert status == 200, body[:500]
    assert content_type.startswith("application/json")
    data = json.loads(body)["data"]
    assert any("served-model" in json.dumps(item) for item in data)
