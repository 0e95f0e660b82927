"""Issue 11's findings that need no cluster: each test failed on the code before its fix."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import Client, RequestFactory

from kmm.addresses import is_loopback
from models_ui import views

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
    assert remote.status_code == 403
    assert Client(REMOTE_ADDR="127.0.0.1", HTTP_HOST=host).get("/healthz").status_code == 200
    assert Client(REMOTE_ADDR="::1", HTTP_HOST=host).get("/healthz").status_code == 200


def test_is_loopback() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost",
                                 "::ffff:127.0.0.1"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com", ""]))
