"""kmm.wsgi.application: anonymous paths on a lean middleware stack, the rest on the full one."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kmm.wsgi import application
from kube.cache import ModelCache

ROOT = Path(__file__).resolve().parent.parent


def call(path: str, **headers: str) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, **headers}
    answer: dict[str, Any] = {}

    def start_response(status: str, header_list: list[tuple[str, str]], *_: Any) -> None:
        answer.update(status=status, headers=dict(header_list))

    result = application(environ, start_response)
    body = b"".join(result)
    getattr(result, "close", lambda: None)()
    return answer["status"], answer["headers"], body


def test_it_serves_the_public_list_with_security_headers_and_no_cookie(cache: ModelCache) -> None:
    status, headers, body = call("/public/api/models", HTTP_ACCEPT="application/json")
    assert status == "200 OK"
    assert body.startswith(b'{"data":')
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in headers


def test_it_refuses_unknown_hosts_on_the_lean_stack(cache: ModelCache) -> None:
    status, _, _ = call("/public/api/models", HTTP_HOST="evil.example")
    assert status.startswith("400")


def test_it_serves_probes_on_the_lean_stack(cache: ModelCache) -> None:
    assert call("/healthz")[0] == "200 OK"


def test_it_keeps_sign_in_for_the_other_pages(cache: ModelCache, settings: Any) -> None:
    settings.KMM_AUTH_MODE = "token"
    status, _, _ = call("/api/models/", HTTP_ACCEPT="application/json")
    assert status.startswith("401")  # sessions and the Kubernetes caller ran


def test_requests_carry_no_database_or_cache_closing_handlers() -> None:
    # kmm has no database and an in-process cache (kmm.apps): nothing to close per request.
    # A fresh interpreter, since Django's test client reconnects close_old_connections.
    code = ("import kmm.wsgi; from django.core import signals; "
            "print(sorted(ref().__name__ for s in (signals.request_started, "
            "signals.request_finished) for _, ref, *_ in s.receivers))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMM_")}
    env.update(KMM_SECRET_KEY="test-only-" + "k" * 40 + "0123456789", DJANGO_SETTINGS_MODULE="kmm.settings")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "['reset_urlconf']"


def test_the_lean_stack_reads_the_query_string(cache: ModelCache) -> None:
    status, _, body = call("/public/api/models", QUERY_STRING="format=openai",
                           HTTP_ACCEPT="application/json")
    assert status == "200 OK"
    assert body.startswith(b'{"object":"list"')
