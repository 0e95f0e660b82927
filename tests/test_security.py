"""Issue 11's findings that need no cluster: each test failed on the code before its fix."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import Client, RequestFactory
from rest_framework import exceptions

from bench.bench_security import many_errors, yaml_bomb
from kmm import auth
from kmm.addresses import is_loopback
from kube import cluster as kube_cluster
from models_api.parsers import BodyTooLarge, BoundedJSONParser
from models_ui import views
from models_ui.yaml_form import YamlForm
from tests.rbac import record_attempt

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(path: str, data: dict[str, Any], **extra: Any) -> Any:
    request = RequestFactory().post(path, data, **extra)
    request._messages = CookieStorage(request)  # type: ignore[attr-defined]
    return request


# --- finding 12: the bulk action's "next" link --------------------------------------------

@pytest.mark.parametrize("target", ["/\\evil.com", "//evil.com", "https://evil.com/",
                                    "/\\/evil.com", "\\\\evil.com", "javascript:alert(1)"])
def test_it_never_redirects_the_bulk_action_off_site(target: str) -> None:
    response = views.delete_selected(_post("/delete-selected/", {"next": target}))
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_keeps_a_local_next_link() -> None:
    response = views.delete_selected(_post("/delete-selected/", {"next": "/?namespace=a&p=2"}))
    assert response["Location"] == "/?namespace=a&p=2"


# --- finding 3: debug safety from the bind address and the client address -----------------

def _debug_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMM_")}
    env.update(KMM_DEBUG="true", DJANGO_SETTINGS_MODULE="kmm.settings",
               KUBECONFIG="/nonexistent/kubeconfig", **extra)
    return env


def test_gunicorn_refuses_debug_beyond_loopback() -> None:
    # The image's command, on its default 0.0.0.0 bind (a refused start never listens).
    result = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "-c",
                             "kmm/gunicorn.conf.py", "kmm.wsgi"], cwd=ROOT,
                            env=_debug_env(PORT=str(free_port())), capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode != 0
    assert "KMM_DEBUG=true is refused" in result.stderr + result.stdout


def test_runserver_refuses_debug_beyond_loopback() -> None:
    result = subprocess.run([sys.executable, "manage.py", "runserver", "--noreload",
                             f"0.0.0.0:{free_port()}"], cwd=ROOT, env=_debug_env(),
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode != 0
    assert "may only listen on loopback" in result.stderr


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_debug_answers_loopback_clients_only_whatever_the_host_header(
        settings: Any, host: str) -> None:
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
    remote = Client(REMOTE_ADDR="10.1.2.3", HTTP_HOST=host).get("/healthz")
    record_attempt(f"debug/remote-client/{host}", remote.status_code == 403)
    assert Client(REMOTE_ADDR="127.0.0.1", HTTP_HOST=host).get("/healthz").status_code == 200
    assert Client(REMOTE_ADDR="::1", HTTP_HOST=host).get("/healthz").status_code == 200


def test_is_loopback() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost",
                                 "::ffff:127.0.0.1"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com", ""]))  # noqa: S104


# --- finding 1: one small request must not exhaust a worker --------------------------------

# The attack payloads are the benchmark's (bench/bench_security.py), one definition each.


BOUNDED_FORM = """
import json, resource, sys, time
import django
django.setup()
from models_ui.yaml_form import YamlForm
text = sys.stdin.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
form = YamlForm({"text": text})
valid = form.is_valid()
print(json.dumps({"valid": valid, "errors": form.errors.get("text", []),
                  "problems": [[line, e.path] for line, e in form.problems],
                  "ms": (time.perf_counter() - started) * 1000,
                  "rss_growth_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}))
"""


def post_yaml_in_a_fresh_worker(text: str) -> dict[str, Any]:
    """The YAML form's work on `text`, in a fresh interpreter bounded to 60 s (before the fix,
    the bomb took minutes and gigabytes, the 2,000 errors 136 s)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run([sys.executable, "-c", BOUNDED_FORM], input=text, cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    return dict(json.loads(result.stdout))


def test_yaml_aliases_are_refused_before_anything_expands() -> None:
    bomb = yaml_bomb()
    assert len(bomb) < 700
    outcome = post_yaml_in_a_fresh_worker(bomb)
    assert outcome["valid"] is False
    assert outcome["errors"] == ["Line 9, column 9: YAML anchors and aliases (&name, *name) are "
                                 "not accepted: write each value out."]
    assert outcome["rss_growth_kb"] < 50_000


def test_yaml_errors_are_located_in_one_pass() -> None:
    outcome = post_yaml_in_a_fresh_worker(many_errors(2000))
    assert outcome["valid"] is False
    problems = outcome["problems"]
    assert len(problems) == 2000
    assert problems[0] == [9, "spec.args[0]"]
    assert problems[-1] == [2008, "spec.args[1999]"]


@pytest.mark.parametrize(("text", "message"), [
    ("a: " + "[" * 65 + "]" * 65, "nests more than 64 levels"),
    ("a: [" + "1, " * 20_001 + "1]", "more than 20,000 values"),
    ("a: '" + "x" * (1024 * 1024) + "'", "at most 1,048,576 are accepted"),
])
def test_yaml_size_node_count_and_depth_are_capped(text: str, message: str) -> None:
    form = YamlForm({"text": text})
    assert not form.is_valid()
    assert message in " ".join(form.errors["text"])


@pytest.mark.parametrize(("body", "problem"), [
    (b"[" * 100_000, "nests too deeply"),
    (b"[" * 65 + b"]" * 65, "nests more than 64 levels"),
    (b'{"a": [' + b"1," * 20_001 + b"1]}", "more than 20,000 values"),
])
def test_api_json_bodies_are_bounded(body: bytes, problem: str) -> None:
    with pytest.raises(exceptions.ParseError, match=problem):
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", {})


def test_api_json_bodies_past_the_size_cap_are_413() -> None:
    body = b'{"a": "' + b"x" * (1024 * 1024) + b'"}'
    with pytest.raises(BodyTooLarge):
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", {})


# --- finding 5: /metrics stays bounded and off the UI's port --------------------------------

def test_metrics_labels_take_known_values_only(settings: Any) -> None:
    settings.KMM_METRICS_PORT = 0
    client = Client()
    for index in range(200):
        client.generic(f"X{index}RANDOM", "/healthz")
    body = client.get("/metrics").content.decode()
    assert "X0RANDOM" not in body
    assert 'method="other"' in body
    assert len(body) < 200_000


def test_metrics_answer_on_the_metrics_port_only(settings: Any) -> None:
    settings.KMM_METRICS_PORT = 9100
    assert Client().get("/metrics", SERVER_PORT="8000").status_code == 404
    assert Client().get("/metrics", SERVER_PORT="8000", HTTP_HOST="127.0.0.1:9100").status_code == 404
    assert Client().get("/metrics", SERVER_PORT="9100").status_code == 200


def test_metrics_default_to_their_own_port() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMM_")}
    env.update(KMM_SECRET_KEY="s" * 10 + "0123456789abcdef" * 3, DJANGO_SETTINGS_MODULE="kmm.settings")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup(); from django.conf "
                             "import settings; print(settings.KMM_METRICS_PORT)"], cwd=ROOT,
                            env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "9100"


# --- finding 10: proxy mode defaults ---------------------------------------------------------

@pytest.mark.parametrize("cidrs", ["0.0.0.0/0", "10.0.0.0/8,::/0"])
def test_trusting_every_address_for_proxy_headers_is_refused(cidrs: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMM_")}
    env.update(KMM_SECRET_KEY="s" * 10 + "0123456789abcdef" * 3, KMM_AUTH_MODE="proxy",
               KMM_PROXY_TRUSTED_CIDRS=cidrs, DJANGO_SETTINGS_MODULE="kmm.settings")
    code = "import django; django.setup()"
    refused = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "may not trust every address" in refused.stderr
    forced = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                            env={**env, "KMM_PROXY_TRUST_ANY_ADDRESS": "true"},
                            capture_output=True, text=True, check=False)
    assert forced.returncode == 0, forced.stderr


UNREACHABLE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: unused}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


def test_the_proxy_may_name_only_listed_groups_and_never_system_masters(
        settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kubeconfig").write_text(UNREACHABLE_KUBECONFIG)  # no call is made
    monkeypatch.setattr(kube_cluster, "_default",
                        kube_cluster.Cluster.from_kubeconfig(tmp_path / "kubeconfig"))
    settings.KMM_PROXY_TRUSTED_CIDRS = ["127.0.0.1/32"]
    settings.KMM_PROXY_ALLOWED_GROUPS = ["team-b", "system:masters"]
    request = RequestFactory().get("/", HTTP_X_FORWARDED_USER="carol", REMOTE_ADDR="127.0.0.1",
                                   HTTP_X_FORWARDED_GROUPS="system:masters, team-b, team-c")
    settings.KMM_PROXY_ALLOWED_GROUPS = ["team-b", "system:masters"]
    identity = auth.identify(request, "proxy")
    assert identity is not None
    assert identity.groups == ("team-b",)
    assert identity.caller.identity.groups == ("team-b",)
