"""The fault suite: kmm under gunicorn (production settings) while its API server is
frozen (SIGSTOP), killed and restarted, raced by concurrent writers, and while
gunicorn itself is stopped during writes.

Outcomes are asserted here; how long things take is measured by `make bench`.
Every wait polls with a generous deadline (2 busy cores).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import kube
from devcluster import controlplane
from tests.conftest import eventually, make_model

pytestmark = [pytest.mark.cluster, pytest.mark.skipif(
    bool(os.environ.get("KMM_TEST_KUBECONFIG")), reason="stops and starts its own control plane")]

ROOT = Path(__file__).resolve().parent.parent
KUBE_TIMEOUT = 8  # KMM_KUBE_TIMEOUT of the served app
# A probe that waited for the API server would take KUBE_TIMEOUT; half of it leaves room for
# a very busy machine (the chart's liveness timeout is 3 s).
PROBE_TIMEOUT = KUBE_TIMEOUT / 2
FREEZE_SECONDS = 20  # past the request timeout and the cache's silence check (10 s + 5 s)
NAMESPACE = "faults"


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Served:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30,
                content_type: str = "application/merge-patch+json",
                auth: bool = True) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url + path, data=data, method=method,  # noqa: S310
                                         headers=headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return Answer(response.status, response.read(), time.monotonic() - started)
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read(), time.monotonic() - started)

    def retrying(self, method: str, path: str, body: Any = None, tries: int = 20,
                 **kwargs: Any) -> Answer:
        """As a client honouring 503 (retry in a moment) would."""
        for _ in range(tries):
            answer = self.request(method, path, body, **kwargs)
            if answer.status != 503:
                return answer
            time.sleep(0.5)
        return answer

    def probe(self, path: str) -> int:
        """A kubelet-style probe: its status, or 0 when it did not answer in PROBE_TIMEOUT."""
        try:
            return self.request("GET", path, timeout=PROBE_TIMEOUT, auth=False).status
        except OSError:
            return 0


def gunicorn(kubeconfig: Path, log: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = controlplane.free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("KMM_", "KUBE"))}
    environ.update(
        KUBECONFIG=str(kubeconfig), KMM_SECRET_KEY="faults-" + uuid.uuid4().hex * 2,
        KMM_AUTH_MODE="token", KMM_ALLOWED_HOSTS="127.0.0.1", KMM_SECURE_COOKIES="false",
        KMM_PUBLISH_MODE="all", KMM_PUBLIC_RATE="off", KMM_KUBE_TIMEOUT=str(KUBE_TIMEOUT),
        KMM_WORKERS="2", KMM_THREADS="4", KMM_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="kmm.settings", **env)
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", str(ROOT / "kmm" / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{port}", "kmm.wsgi"]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=out,
                                   stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def wait_ready(served: Served) -> None:
    # Several answers in a row, so both workers have synced their caches.
    assert eventually(lambda: all(served.probe("/readyz") == 200 for _ in range(6)), 60), \
        served.log.read_text()[-3000:]


def stop(process: subprocess.Popen[bytes]) -> None:
    controlplane.stop_process(process, grace=30)  # gunicorn's graceful shutdown


@pytest.fixture(scope="module")
def plane() -> Iterator[controlplane.ControlPlane]:
    started = controlplane.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def admin(plane: controlplane.ControlPlane) -> Iterator[kube.Caller]:
    cluster = kube.Cluster.from_kubeconfig(plane.kubeconfig, read_timeout=10)
    caller = cluster.as_app()
    kube.create_namespace(caller, NAMESPACE)
    kube.create_model(caller, make_model(NAMESPACE, "steady"))
    try:
        yield caller
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def served(plane: controlplane.ControlPlane, admin: kube.Caller,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("faults") / "gunicorn.log"
    process, url = gunicorn(plane.kubeconfig, log)
    server = Served(url, plane.tokens["admin"], process, log)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(process)


def model_path(name: str = "") -> str:
    return f"/api/namespaces/{NAMESPACE}/models/" + (f"{name}/" if name else "")


def public_ids(served: Served) -> set[str]:
    answer = served.request("GET", "/public/api/models", auth=False, timeout=PROBE_TIMEOUT)
    assert answer.status == 200
    return {entry["id"] for entry in answer.json()["data"]}


# --- concurrent writers ----------------------------------------------------------------------

def test_concurrent_pinned_patches_one_wins_the_others_get_a_clean_409(
        served: Served, admin: kube.Caller) -> None:
    created = kube.create_model(admin, make_model(NAMESPACE, "pinned"))
    version = created["metadata"]["resourceVersion"]

    def patch(index: int) -> Answer:
        return served.retrying("PATCH", model_path("pinned"), {
            "metadata": {"resourceVersion": version, "annotations": {"writer": str(index)}}})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(patch, range(20)))
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [200] + [409] * 19, statuses
    winner = next(a for a in answers if a.status == 200).json()
    stored = kube.get_model(admin, NAMESPACE, "pinned")
    assert stored["metadata"]["annotations"]["writer"] == winner["metadata"]["annotations"]["writer"]
    assert {a.json()["currentResourceVersion"] for a in answers if a.status == 409} \
        == {stored["metadata"]["resourceVersion"]}


def test_concurrent_unpinned_patches_of_different_fields_are_all_kept(
        served: Served, admin: kube.Caller) -> None:
    kube.create_model(admin, make_model(NAMESPACE, "unpinned"))

    def patch(index: int) -> Answer:
        return served.retrying("PATCH", model_path("unpinned"),
                               {"metadata": {"annotations": {f"field-{index}": str(index)}}})

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = [answer.status for answer in pool.map(patch, range(20))]
    assert statuses == [200] * 20
    annotations = kube.get_model(admin, NAMESPACE, "unpinned")["metadata"]["annotations"]
    assert {f"field-{i}": str(i) for i in range(20)}.items() <= annotations.items()


# --- the API server frozen, then killed ---------------------------------------------------

class Tabs:
    """Browser tabs polling a page that needs the API server, as fast as answers come."""

    def __init__(self, served: Served, path: str, count: int = 16):
        self.served, self.path = served, path
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(count)]

    def _poll(self) -> None:
        while not self.stopping.is_set():
            try:
                self.answers.append(self.served.request("GET", self.path, timeout=60))
            except OSError:
                self.answers.append(Answer(0, b"", 0.0))

    def __enter__(self) -> Tabs:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(90)


def test_a_frozen_api_server_gets_fast_503s_while_probes_and_the_public_list_answer(
        served: Served, plane: controlplane.ControlPlane, admin: kube.Caller) -> None:
    assert "steady" in public_ids(served)
    apiserver = plane.processes[0]
    probes: list[tuple[str, int]] = []
    os.kill(apiserver.pid, signal.SIGSTOP)
    try:
        with Tabs(served, model_path("steady")) as tabs:
            deadline = time.monotonic() + FREEZE_SECONDS
            while time.monotonic() < deadline:
                for path in ("/healthz", "/readyz"):
                    probes.append((path, served.probe(path)))
                assert "steady" in public_ids(served)  # served from the last snapshot
                time.sleep(0.5)
            answered_before = len(tabs.answers)
    finally:
        os.kill(apiserver.pid, signal.SIGCONT)
    assert probes
    assert all(status == 200 for _, status in probes), probes
    statuses = {a.status for a in tabs.answers}
    assert statuses <= {200, 503}, statuses
    refused = [a.seconds for a in tabs.answers if a.status == 503]
    # Fast 503s: most answers came long before a call to the frozen server could time out,
    # and far more of them than 16 tabs waiting out timeouts could have had.
    assert statistics.median(refused) < KUBE_TIMEOUT / 2, statistics.median(refused)
    assert answered_before > 2 * 16 * FREEZE_SECONDS / KUBE_TIMEOUT
    # Recovery: reads and writes work again, and the lists follow.
    assert eventually(lambda: served.request("GET", model_path("steady")).status == 200, 30)
    answer = served.retrying("PATCH", model_path("steady"),
                             {"metadata": {"annotations": {"after": "freeze"}}})
    assert answer.status == 200

    def listed() -> dict[str, Any]:
        items = served.request("GET", model_path()).json()["items"]
        return next(m for m in items if m["metadata"]["name"] == "steady")

    assert eventually(lambda: (listed()["metadata"].get("annotations") or {}).get("after")
                      == "freeze", 30)  # another worker's cache may not show the write yet


def test_a_killed_api_server_restarted_on_the_same_data_is_found_again(
        served: Served, plane: controlplane.ControlPlane, admin: kube.Caller) -> None:
    plane.halt()
    try:
        assert eventually(lambda: served.request("GET", model_path("steady")).status == 503, 30)
        assert all(served.probe(path) == 200 for path in ("/healthz", "/readyz"))
        assert "steady" in public_ids(served)
    finally:
        plane.resume()
    kube.create_model(admin, make_model(NAMESPACE, "after-restart"))
    assert eventually(lambda: "after-restart" in public_ids(served), 60)
    assert eventually(lambda: served.request("GET", model_path("after-restart")).status == 200,
                      30)


# --- gunicorn stopped during writes ---------------------------------------------------------

def test_a_graceful_shutdown_during_writes_keeps_every_acknowledged_write(
        plane: controlplane.ControlPlane, admin: kube.Caller, tmp_path: Path) -> None:
    process, url = gunicorn(plane.kubeconfig, tmp_path / "gunicorn.log")
    server = Served(url, plane.tokens["admin"], process, tmp_path / "gunicorn.log")
    acknowledged: list[str] = []
    stopping = threading.Event()
    try:
        wait_ready(server)

        def write(writer: int) -> None:
            for index in range(10_000):
                if stopping.is_set():
                    return
                name = f"shutdown-{writer}-{index}"
                try:
                    answer = server.request("POST", model_path(),
                                            make_model(NAMESPACE, name),
                                            content_type="application/json")
                except OSError:  # the server stopped listening
                    return
                if answer.status == 201:
                    acknowledged.append(name)

        writers = [threading.Thread(target=write, args=(i,)) for i in range(6)]
        for thread in writers:
            thread.start()
        assert eventually(lambda: len(acknowledged) >= 20, 60)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        stopping.set()
        for thread in writers:
            thread.join(60)
    finally:
        stopping.set()
        stop(process)
    stored = {m["metadata"]["name"] for m in kube.list_models(admin, NAMESPACE)}
    assert acknowledged
    assert set(acknowledged) <= stored
